// A Curator 5.4 participant driven by docent's interop test over stdin/stdout, one command per
// line, one or more reply lines per command. Leadership and lock holds are also marked with a
// file created exclusively (createFile fails if it exists): a docent holder uses the same file,
// so two holders at once show up as "overlap" whatever the timing of the pipes.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.Revoker;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public class InteropPeer {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static CuratorFramework client;
    private static LeaderLatch latch;
    private static volatile boolean latchMarked;
    private static Path marker;
    private static InterProcessMutex mutex;
    private static ServiceDiscovery<Object> discovery;

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void mark() {
        try {
            Files.createFile(marker);
        } catch (FileAlreadyExistsException e) {
            say("overlap");
        } catch (Exception e) {
            say("error marking: " + e);
        }
    }

    static void unmark() throws Exception {
        Files.deleteIfExists(marker);
    }

    public static void main(String[] args) throws Exception {
        client = CuratorFrameworkFactory.newClient(args[0], 10000, 10000,
                new ExponentialBackoffRetry(100, 5));
        client.start();
        if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
            say("error not connected");
            return;
        }
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ", -1);
            try {
                if (!run(w)) {
                    break;
                }
            } catch (Exception e) {
                say("error " + e);
            }
        }
        client.close();
    }

    static boolean run(String[] w) throws Exception {
        switch (w[0]) {
            case "latch-start": {
                marker = Paths.get(w[3]);
                latch = new LeaderLatch(client, w[1], w[2]);
                latch.addListener(new LeaderLatchListener() {
                    public void isLeader() {
                        mark();
                        latchMarked = true;
                        say("event leader");
                    }

                    public void notLeader() {
                        say("event not-leader");
                    }
                });
                latch.start();
                say("ok");
                return true;
            }
            case "latch-has":
                say("has " + latch.hasLeadership());
                return true;
            case "latch-participants": {
                List<String> parts = new ArrayList<>();
                for (Participant p : latch.getParticipants()) {
                    parts.add(p.getId() + ":" + p.isLeader());
                }
                say("participants " + String.join(",", parts));
                return true;
            }
            case "latch-close":
                if (latchMarked) {
                    latchMarked = false;
                    unmark();
                }
                latch.close(LeaderLatch.CloseMode.NOTIFY_LEADER);
                say("ok");
                return true;
            case "mutex-new":
                mutex = new InterProcessMutex(client, w[1]);
                marker = Paths.get(w[2]);
                say("ok");
                return true;
            case "mutex-acquire":
                mutex.acquire();
                mark();
                say("acquired");
                return true;
            case "mutex-try":
                if (mutex.acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS)) {
                    mark();
                    say("acquired");
                } else {
                    say("timeout");
                }
                return true;
            case "mutex-release":
                unmark();
                mutex.release();
                say("released");
                return true;
            case "mutex-cycles": {
                int n = Integer.parseInt(w[1]);
                for (int i = 0; i < n; i++) {
                    mutex.acquire();
                    mark();
                    Thread.sleep(1);
                    unmark();
                    mutex.release();
                }
                say("cycles " + n);
                return true;
            }
            // ---- revocation (issue 15) ----
            case "mutex-revocable":
                // The listener only reports: InterProcessMutex must be released by the thread
                // that took it, so the test sends mutex-release when it sees the event.
                mutex.makeRevocable(forLock -> say("event revoke-requested"));
                say("ok");
                return true;
            case "revoke":
                Revoker.attemptRevoke(client, w[1]);
                say("ok");
                return true;
            case "disc-start":
                discovery = ServiceDiscoveryBuilder.builder(Object.class)
                        .client(client)
                        .basePath(w[1])
                        .serializer(new JsonInstanceSerializer<>(Object.class))
                        .build();
                discovery.start();
                say("ok");
                return true;
            case "disc-register": {
                // disc-register NAME ID PORT string TEXT… | map k=v;k=v
                Object payload;
                if (w[4].equals("string")) {
                    payload = String.join(" ", java.util.Arrays.copyOfRange(w, 5, w.length));
                } else {
                    Map<String, Object> map = new LinkedHashMap<>();
                    for (String kv : w[5].split(";")) {
                        String[] p = kv.split("=", 2);
                        map.put(p[0], p[1].matches("-?[0-9]+") ? (Object) Integer.valueOf(p[1]) : p[1]);
                    }
                    payload = map;
                }
                ServiceInstance<Object> instance = ServiceInstance.builder()
                        .name(w[1])
                        .id(w[2])
                        .address("10.0.0.7")
                        .port(Integer.parseInt(w[3]))
                        .payload(payload)
                        .uriSpec(new UriSpec("{scheme}://{address}:{port}"))
                        .build();
                discovery.registerService(instance);
                say("ok");
                return true;
            }
            case "disc-query": {
                Collection<ServiceInstance<Object>> all = discovery.queryForInstances(w[1]);
                for (ServiceInstance<Object> i : all) {
                    say("instance " + view(i));
                }
                say("end");
                return true;
            }
            // InterProcessSemaphoreV2: see Sem.
            case "sem-new":
            case "sem-acquire":
            case "sem-try":
            case "sem-release":
            case "sem-cycles":
                Sem.run(w);
                return true;
            case "quit":
                say("bye");
                return false;
            default:
                say("error unknown command " + w[0]);
                return true;
        }
    }

    /** Java's view of an instance, field by field, for docent to compare. */
    static String view(ServiceInstance<Object> i) throws Exception {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("name", i.getName());
        v.put("id", i.getId());
        v.put("address", i.getAddress());
        v.put("port", i.getPort());
        v.put("sslPort", i.getSslPort());
        v.put("payload", i.getPayload());
        v.put("payloadClass", i.getPayload() == null ? null : i.getPayload().getClass().getName());
        v.put("registrationTimeUTC", i.getRegistrationTimeUTC());
        v.put("serviceType", i.getServiceType().name());
        v.put("uri", i.buildUriSpec());
        v.put("enabled", i.isEnabled());
        return JSON.writeValueAsString(v);
    }

    /**
     * InterProcessSemaphoreV2 commands. Each hold takes one of two slot files (slot0, slot1)
     * of a directory shared with docent, created exclusively: a third holder at once finds
     * both taken ("overlap").
     */
    static class Sem {
        static InterProcessSemaphoreV2 semaphore;
        static Path slots;
        static final java.util.ArrayDeque<Lease> leases = new java.util.ArrayDeque<>();
        static final java.util.ArrayDeque<Path> taken = new java.util.ArrayDeque<>();

        static void take() {
            for (int i = 0; i < 2; i++) {
                Path p = slots.resolve("slot" + i);
                try {
                    Files.createFile(p);
                    taken.push(p);
                    return;
                } catch (FileAlreadyExistsException e) {
                    // taken: try the next slot
                } catch (Exception e) {
                    say("error marking: " + e);
                    return;
                }
            }
            say("overlap");
        }

        static void give() throws Exception {
            Path p = taken.poll();
            if (p != null) {
                Files.deleteIfExists(p);
            }
        }

        static void run(String[] w) throws Exception {
            switch (w[0]) {
                case "sem-new":
                    semaphore = new InterProcessSemaphoreV2(client, w[1], Integer.parseInt(w[3]));
                    slots = Paths.get(w[2]);
                    say("ok");
                    break;
                case "sem-acquire":
                    leases.push(semaphore.acquire());
                    take();
                    say("acquired");
                    break;
                case "sem-try": {
                    Lease lease = semaphore.acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS);
                    if (lease != null) {
                        leases.push(lease);
                        take();
                        say("acquired");
                    } else {
                        say("timeout");
                    }
                    break;
                }
                case "sem-release":
                    give();
                    semaphore.returnLease(leases.pop());
                    say("released");
                    break;
                default: { // sem-cycles
                    int n = Integer.parseInt(w[1]);
                    for (int i = 0; i < n; i++) {
                        Lease lease = semaphore.acquire();
                        take();
                        Thread.sleep(1);
                        give();
                        semaphore.returnLease(lease);
                    }
                    say("cycles " + n);
                }
            }
        }
    }
}
