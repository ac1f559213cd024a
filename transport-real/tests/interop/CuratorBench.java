// Curator 5.4's side of docent's recipe benchmark (benches/recipes.rs): the same lock cycles,
// latch failovers, cache propagation, semaphores, read–write lock, counters, queue, double
// barrier and failover after expiry, on the same server.
//
//   java -cp … CuratorBench CONNECT_STRING BASE_PATH SCALE      (SCALE 1.0 = full run)
//
// then commands on stdin, each answered by one "key value" line per figure (microseconds, or
// per second) and a line "end":
//   duel R PROXY [ONLY]
//                 lock cycles, failover, cache propagation, semaphores, read–write lock,
//                 counters, queue and double barrier under BASE_PATH/rR, and failover after expiry with the holder behind PROXY (a
//                 host:port the bench cuts when this program prints "cut", answering "cut", and
//                 heals when it prints "heal", answering "healed"); ONLY: the families to run,
//                 comma-separated (locks latch caches semaphores rwlock counters queue barrier
//                 expiry), "all" (the default) for every one
//   extras DIRS   CuratorCache's initial load of each directory in DIRS (comma-separated;
//                 key load_N_us, N its number of children), pipelined reads and discovery

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.PathChildrenCache;
import org.apache.curator.framework.recipes.cache.PathChildrenCacheEvent;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.MultiItem;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;

public class CuratorBench {
    static String connect;
    static String base;
    static BufferedReader in;
    /** The families of the duel being run ("all": every one). */
    static List<String> only = List.of("all");

    static boolean on(String family) {
        return only.contains("all") || only.contains(family);
    }

    static CuratorFramework client() throws Exception {
        return client(connect, 10000);
    }

    /** A started client of server, with this session (and connection) timeout. */
    static CuratorFramework client(String server, int timeoutMs) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(server, timeoutMs, timeoutMs,
                new ExponentialBackoffRetry(100, 5));
        c.start();
        c.blockUntilConnected(30, TimeUnit.SECONDS);
        return c;
    }

    static void say(String key, double value) {
        System.out.printf("%s %.1f%n", key, value);
        System.out.flush();
    }

    static double pct(List<Long> nanos, double p) {
        List<Long> s = new ArrayList<>(nanos);
        Collections.sort(s);
        int i = Math.min(s.size() - 1, (int) (s.size() * p));
        return s.get(i) / 1000.0;
    }

    public static void main(String[] args) throws Exception {
        connect = args[0];
        base = args[1];
        double scale = Double.parseDouble(args[2]);
        String root = base;
        in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
            String[] command = line.trim().split(" ", 2);
            String arg = command.length > 1 ? command[1] : "";
            if (command[0].equals("duel")) {
                String[] round = arg.split(" ");
                base = root + "/r" + round[0];
                only = List.of((round.length > 2 ? round[2] : "all").split(","));
                if (on("locks")) {
                    uncontended((int) (3000 * scale));
                    contended((long) (4000 * scale));
                }
                if (on("latch")) {
                    failover((int) (300 * scale));
                }
                if (on("caches")) {
                    cache((int) (1000 * scale));
                    pathChildrenCache((int) (1000 * scale));
                }
                if (on("semaphores")) {
                    semaphores(scale);
                }
                if (on("rwlock")) {
                    readWriteLock(scale);
                }
                if (on("counters")) {
                    counters(scale);
                }
                if (on("queue")) {
                    queue(scale);
                }
                if (on("barrier")) {
                    doubleBarrier(scale);
                }
                if (on("expiry")) {
                    expiry(round[1], Math.max(1, (int) Math.round(3 * scale)));
                }
            } else if (command[0].equals("extras")) {
                base = root;
                for (String dir : arg.split(",")) {
                    if (!dir.isEmpty()) {
                        load(dir);
                    }
                }
                reads((int) (200 * scale));
                discovery((int) (300 * scale), (int) (2_000_000 * scale));
            } else {
                throw new IllegalArgumentException("unknown command: " + line);
            }
            System.out.println("end");
            System.out.flush();
        }
    }

    // ---- Semaphores (InterProcessSemaphoreV2 / InterProcessSemaphoreMutex) beside docent ----

    static void semaphores(double scale) throws Exception {
        CuratorFramework c = client();
        InterProcessSemaphoreMutex m = new InterProcessSemaphoreMutex(c, base + "/semaphore-mutex");
        int n = (int) (3000 * scale);
        for (int i = 0; i < n / 3; i++) { // warm-up (JIT)
            m.acquire();
            m.release();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            m.acquire();
            m.release();
        }
        say("sem_mutex_cycles_per_s", n / ((System.nanoTime() - t0) / 1e9));
        c.close();

        long millis = (long) (4000 * Math.max(scale, 0.25));
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            clients.add(client());
        }
        List<Long> waits = Collections.synchronizedList(new ArrayList<>());
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        long end = warmEnd + millis * 1_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (CuratorFramework cc : clients) {
            InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(cc, base + "/semaphore", 2);
            Lease[] held = new Lease[1];
            threads.add(cycler(() -> held[0] = sem.acquire(), () -> sem.returnLease(held[0]),
                    warmEnd, end, waits));
        }
        for (Thread t : threads) {
            t.join();
        }
        say("sem_contended_cycles_per_s", waits.size() / (millis / 1000.0));
        say("sem_contended_acquire_p50_us", pct(waits, 0.50));
        say("sem_contended_acquire_p99_us", pct(waits, 0.99));
        for (CuratorFramework cc : clients) {
            cc.close();
        }
    }

    /** One step of a cycle: an acquire or a release. */
    interface Step {
        void run() throws Exception;
    }

    /**
     * A started thread that cycles acquire, release until end; the acquire waits of the cycles
     * begun after warmEnd go to waits.
     */
    static Thread cycler(Step acquire, Step release, long warmEnd, long end, List<Long> waits) {
        Thread t = new Thread(() -> {
            try {
                while (true) {
                    long a = System.nanoTime();
                    if (a >= end) {
                        break;
                    }
                    acquire.run();
                    long b = System.nanoTime();
                    release.run();
                    if (a >= warmEnd) {
                        waits.add(b - a);
                    }
                }
            } catch (Exception e) {
                e.printStackTrace();
            }
        });
        t.start();
        return t;
    }

    // ---- InterProcessReadWriteLock: 4 readers and 1 writer, a client and thread each ----

    static void readWriteLock(double scale) throws Exception {
        long millis = (long) (4000 * Math.max(scale, 0.25));
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            clients.add(client());
        }
        List<Long> writes = Collections.synchronizedList(new ArrayList<>());
        List<Long> reads = Collections.synchronizedList(new ArrayList<>());
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        long end = warmEnd + millis * 1_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 5; i++) { // the writer first, then the readers
            InterProcessReadWriteLock rw = new InterProcessReadWriteLock(clients.get(i),
                    base + "/rwlock");
            InterProcessMutex side = i == 0 ? rw.writeLock() : rw.readLock();
            threads.add(cycler(side::acquire, side::release, warmEnd, end, i == 0 ? writes : reads));
        }
        for (Thread t : threads) {
            t.join();
        }
        say("rw_cycles_per_s", (writes.size() + reads.size()) / (millis / 1000.0));
        say("rw_writer_acquire_p50_us", pct(writes, 0.50));
        say("rw_writer_acquire_p99_us", pct(writes, 0.99));
        for (CuratorFramework c : clients) {
            c.close();
        }
    }

    /** n scaled by SCALE, at least 10 (as the bench's scaled()). */
    static int scaled(int n, double scale) {
        return Math.max(10, (int) (n * scale));
    }

    // ---- Counters: DistributedAtomicLong (1 and 4 clients) and SharedCount.trySetCount ----

    static void counters(double scale) throws Exception {
        int n = scaled(2000, scale);
        CuratorFramework c = client();
        DistributedAtomicLong one = new DistributedAtomicLong(c, base + "/atomic-1",
                new RetryNTimes(1000, 0));
        for (int i = 0; i < n / 3; i++) { // warm-up (JIT)
            increment(one);
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            increment(one);
        }
        say("atomic_1_per_s", n / ((System.nanoTime() - t0) / 1e9));
        if (one.get().postValue() != n + n / 3) {
            throw new IllegalStateException("atomic long: " + one.get().postValue());
        }

        long millis = (long) (4000 * Math.max(scale, 0.25));
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(client());
        }
        long warmEnd = System.nanoTime() + 2_000_000_000L;
        long end = warmEnd + millis * 1_000_000L;
        long[] measured = new long[4];
        long[] all = new long[4];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int me = i;
            DistributedAtomicLong counter = new DistributedAtomicLong(clients.get(i),
                    base + "/atomic-4", new RetryNTimes(1000, 0));
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        long a = System.nanoTime();
                        if (a >= end) {
                            break;
                        }
                        if (counter.increment().succeeded()) {
                            all[me]++;
                            if (a >= warmEnd) {
                                measured[me]++;
                            }
                        }
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            t.start();
            threads.add(t);
        }
        long total = 0;
        long succeeded = 0;
        for (int i = 0; i < 4; i++) {
            threads.get(i).join();
            total += measured[i];
            succeeded += all[i];
        }
        long value = new DistributedAtomicLong(c, base + "/atomic-4", new RetryNTimes(0, 0))
                .get().postValue();
        if (value != succeeded) {
            throw new IllegalStateException("atomic long: " + value + " != " + succeeded);
        }
        say("atomic_4_per_s", total / (millis / 1000.0));
        for (CuratorFramework cc : clients) {
            cc.close();
        }

        SharedCount count = new SharedCount(c, base + "/shared-count", 0);
        count.start();
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < n + n / 5; i++) {
            VersionedValue<Integer> seen = count.getVersionedValue();
            long t = System.nanoTime();
            if (!count.trySetCount(seen, seen.getValue() + 1)) {
                throw new IllegalStateException("trySetCount failed at " + seen.getValue());
            }
            if (i >= n / 5) {
                times.add(System.nanoTime() - t);
            }
        }
        say("shared_try_set_p50_us", pct(times, 0.50));
        say("shared_try_set_p99_us", pct(times, 0.99));
        count.close();
        c.close();
    }

    static void increment(DistributedAtomicLong counter) throws Exception {
        AtomicValue<Long> result = counter.increment();
        if (!result.succeeded()) {
            throw new IllegalStateException("an uncontended increment failed");
        }
    }

    // ---- DistributedQueue (no lock path), one and 100 items per node ----

    static final QueueSerializer<byte[]> BYTES = new QueueSerializer<byte[]>() {
        public byte[] serialize(byte[] item) {
            return item;
        }

        public byte[] deserialize(byte[] bytes) {
            return bytes;
        }
    };

    static void queue(double scale) throws Exception {
        CuratorFramework producer = client();
        String single = base + "/queue";
        List<byte[]> items = new ArrayList<>();
        say("queue_put_per_s", fill(producer, single, scaled(2000, scale), 1, items));
        say("queue_take_per_s", take(single, items));
        String many = base + "/queue-many";
        items.clear();
        say("queue_put_many_per_s", fill(producer, many, scaled(100, scale), 100, items));
        say("queue_take_many_per_s", take(many, items));
        producer.close();
    }

    /**
     * Puts nodes + nodes/5 nodes of perNode items each (the first fifth to warm up), each put
     * waiting for its reply: the timed ones' items/s; every item put goes to items, in order.
     */
    static double fill(CuratorFramework c, String path, int nodes, int perNode,
            List<byte[]> items) throws Exception {
        DistributedQueue<byte[]> queue = QueueBuilder.builder(c, null, BYTES, path)
                .putInBackground(false).buildQueue();
        queue.start();
        int warm = nodes / 5;
        long t0 = System.nanoTime();
        for (int node = 0; node < warm + nodes; node++) {
            if (node == warm) {
                t0 = System.nanoTime();
            }
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < perNode; i++) {
                batch.add(("item-" + node + "-" + i).getBytes("UTF-8"));
            }
            if (perNode == 1) {
                queue.put(batch.get(0));
            } else {
                java.util.Iterator<byte[]> next = batch.iterator();
                MultiItem<byte[]> multi = () -> next.hasNext() ? next.next() : null;
                queue.putMulti(multi);
            }
            items.addAll(batch);
        }
        double rate = nodes * perNode / ((System.nanoTime() - t0) / 1e9);
        queue.close();
        return rate;
    }

    /** A fresh client consumes path until it has every item: items/s (checked in order). */
    static double take(String path, List<byte[]> items) throws Exception {
        CuratorFramework c = client();
        BlockingQueue<byte[]> taken = new ArrayBlockingQueue<>(items.size());
        QueueConsumer<byte[]> consumer = new QueueConsumer<byte[]>() {
            public void consumeMessage(byte[] message) {
                taken.offer(message);
            }

            public void stateChanged(CuratorFramework client, ConnectionState state) {
            }
        };
        DistributedQueue<byte[]> queue = QueueBuilder.builder(c, consumer, BYTES, path)
                .buildQueue();
        long t0 = System.nanoTime();
        queue.start();
        for (byte[] want : items) {
            byte[] got = taken.poll(60, TimeUnit.SECONDS);
            if (got == null || !java.util.Arrays.equals(got, want)) {
                throw new IllegalStateException("queue order: " + (got == null ? "none"
                        : new String(got, "UTF-8")) + " for " + new String(want, "UTF-8"));
            }
        }
        double rate = items.size() / ((System.nanoTime() - t0) / 1e9);
        queue.close();
        c.close();
        return rate;
    }

    // ---- DistributedDoubleBarrier: 5 members enter together, then leave, a fresh path each ----

    static void doubleBarrier(double scale) throws Exception {
        int members = 5;
        int passes = scaled(100, scale);
        int warm = passes / 5;
        CyclicBarrier together = new CyclicBarrier(members);
        CuratorFramework maker = client();
        for (int pass = 0; pass < warm + passes; pass++) { // each pass's path, made beforehand
            maker.create().creatingParentsIfNeeded().forPath(base + "/double-barrier/" + pass);
        }
        maker.close();
        List<Long> enters = Collections.synchronizedList(new ArrayList<>());
        List<CuratorFramework> clients = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int m = 0; m < members; m++) {
            CuratorFramework c = client();
            clients.add(c);
            Thread t = new Thread(() -> {
                try {
                    for (int pass = 0; pass < warm + passes; pass++) {
                        DistributedDoubleBarrier member = new DistributedDoubleBarrier(c,
                                base + "/double-barrier/" + pass, members);
                        together.await();
                        long t0 = System.nanoTime();
                        member.enter();
                        long took = System.nanoTime() - t0;
                        member.leave();
                        if (pass >= warm) {
                            enters.add(took);
                        }
                    }
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        if (enters.size() != members * passes) {
            throw new IllegalStateException("double barrier: " + enters.size() + " enters");
        }
        say("barrier_enter_p50_us", pct(enters, 0.50));
        say("barrier_enter_p99_us", pct(enters, 0.99));
        for (CuratorFramework c : clients) {
            c.close();
        }
    }

    // ---- InterProcessMutex failover after the holder's session expires (see expiry.rs) ----

    /** Prints line (a request to the bench) and waits for the answer want. */
    static void request(String line, String want) throws Exception {
        System.out.println(line);
        System.out.flush();
        String answer = in.readLine();
        if (!want.equals(answer)) {
            throw new IllegalStateException("asked " + line + ", got " + answer);
        }
    }

    /**
     * n times: a holder behind proxy, a waiter queued behind it, an observer watching the
     * holder's node; the bench cuts the proxy; cut → the waiter's grant, and expiry (the
     * observer's NodeDeleted) → grant. The holder has a 4 s session, the others ordinary ones.
     * The cut is stamped once the bench says it is done.
     */
    static void expiry(String proxy, int n) throws Exception {
        String path = base + "/expiry";
        CuratorFramework observer = client();
        observer.create().creatingParentsIfNeeded().forPath(path);
        List<Long> fromCut = new ArrayList<>();
        List<Long> fromExpiry = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CuratorFramework behind = client(proxy, 4000);
            InterProcessMutex holder = new InterProcessMutex(behind, path);
            holder.acquire();
            String node = holder.getParticipantNodes().iterator().next();
            CuratorFramework direct = client();
            InterProcessMutex waiter = new InterProcessMutex(direct, path);
            long[] granted = new long[1];
            Thread t = new Thread(() -> {
                try {
                    waiter.acquire();
                    granted[0] = System.nanoTime();
                    waiter.release();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            t.start();
            while (observer.getChildren().forPath(path).size() < 2) {
                Thread.sleep(1);
            }
            long[] expired = new long[1];
            WatchedEvent[] seen = new WatchedEvent[1];
            CountDownLatch deleted = new CountDownLatch(1);
            observer.checkExists().usingWatcher((Watcher) event -> {
                expired[0] = System.nanoTime();
                seen[0] = event;
                deleted.countDown();
            }).forPath(node);
            request("cut", "cut");
            long cut = System.nanoTime();
            deleted.await();
            if (seen[0].getType() != Watcher.Event.EventType.NodeDeleted) {
                throw new IllegalStateException("the holder's node expired, not " + seen[0]);
            }
            t.join();
            fromCut.add(granted[0] - cut);
            fromExpiry.add(granted[0] - expired[0]);
            request("heal", "healed");
            behind.close();
            direct.close();
        }
        say("expiry_cut_to_grant_us", pct(fromCut, 0.50));
        say("expiry_to_grant_us", pct(fromExpiry, 0.50));
        observer.close();
    }

    static void uncontended(int n) throws Exception {
        CuratorFramework c = client();
        InterProcessMutex m = new InterProcessMutex(c, base + "/uncontended");
        for (int i = 0; i < n / 3; i++) { // warm-up (JIT)
            m.acquire();
            m.release();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            m.acquire();
            m.release();
        }
        long t = System.nanoTime() - t0;
        say("uncontended_cycles_per_s", n / (t / 1e9));
        c.close();
    }

    static void contended(long millis) throws Exception {
        int k = 4;
        List<CuratorFramework> clients = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            clients.add(client());
        }
        List<Long> waits = Collections.synchronizedList(new ArrayList<>());
        long warmEnd = System.nanoTime() + 1_000_000_000L; // one second of warm-up
        long end = warmEnd + millis * 1_000_000L;
        List<Thread> threads = new ArrayList<>();
        for (CuratorFramework c : clients) {
            InterProcessMutex m = new InterProcessMutex(c, base + "/contended");
            threads.add(cycler(m::acquire, m::release, warmEnd, end, waits));
        }
        for (Thread t : threads) {
            t.join();
        }
        say("contended_cycles_per_s", waits.size() / (millis / 1000.0));
        say("contended_acquire_p50_us", pct(waits, 0.50));
        say("contended_acquire_p99_us", pct(waits, 0.99));
        for (CuratorFramework c : clients) {
            c.close();
        }
    }

    static LeaderLatch join(CuratorFramework c, String path, String id, BlockingQueue<Long> led)
            throws Exception {
        LeaderLatch l = new LeaderLatch(c, path, id);
        l.addListener(new LeaderLatchListener() {
            public void isLeader() {
                led.offer(System.nanoTime());
            }

            public void notLeader() {
            }
        });
        l.start();
        return l;
    }

    static void failover(int n) throws Exception {
        CuratorFramework a = client();
        CuratorFramework b = client();
        String path = base + "/latch";
        BlockingQueue<Long> led = new ArrayBlockingQueue<>(16);
        LeaderLatch leader = join(a, path, "a", led);
        leader.await();
        led.clear();
        CuratorFramework[] sides = {a, b};
        List<Long> times = new ArrayList<>();
        int warm = n / 5;
        for (int i = 0; i < n + warm; i++) {
            CuratorFramework next = sides[(i + 1) % 2];
            LeaderLatch follower = join(next, path, "p" + i, led);
            while (follower.getParticipants().size() < 2) {
                Thread.sleep(1);
            }
            long t0 = System.nanoTime();
            leader.close();
            Long t1 = led.poll(10, TimeUnit.SECONDS);
            if (t1 == null) {
                throw new IllegalStateException("no failover");
            }
            if (i >= warm) {
                times.add(t1 - t0);
            }
            leader = follower;
        }
        leader.close();
        say("failover_p50_us", pct(times, 0.50));
        say("failover_p99_us", pct(times, 0.99));
        a.close();
        b.close();
    }

    static void cache(int n) throws Exception {
        CuratorFramework writer = client();
        CuratorFramework reader = client();
        String dir = base + "/cache";
        writer.create().creatingParentsIfNeeded().forPath(dir);
        BlockingQueue<Long> seen = new ArrayBlockingQueue<>(1024);
        CuratorCache cache = CuratorCache.build(reader, dir);
        CountDownLatch ready = new CountDownLatch(1);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreates(node -> seen.offer(System.nanoTime()))
                .forChanges((old, node) -> seen.offer(System.nanoTime()))
                .forInitialized(ready::countDown)
                .build());
        cache.start();
        ready.await();
        propagation(writer, dir, seen, n, "cache");
        cache.close();
        writer.close();
        reader.close();
    }

    /**
     * Creates and sets n + n/5 children of dir (the first n/5 warm up), each timed until the
     * cache's listener put a time in seen; prints KEY_create_p50_us, KEY_p50_us, KEY_p99_us.
     */
    static void propagation(CuratorFramework writer, String dir, BlockingQueue<Long> seen, int n,
            String key) throws Exception {
        seen.clear();
        List<Long> creates = new ArrayList<>();
        List<Long> sets = new ArrayList<>();
        int warm = n / 5;
        for (int i = 0; i < n + warm; i++) {
            String p = dir + "/n" + i;
            long t0 = System.nanoTime();
            writer.create().forPath(p, new byte[] {1});
            long t1 = seen.poll(10, TimeUnit.SECONDS);
            long t2 = System.nanoTime();
            writer.setData().forPath(p, new byte[] {2});
            long t3 = seen.poll(10, TimeUnit.SECONDS);
            if (i >= warm) {
                creates.add(t1 - t0);
                sets.add(t3 - t2);
            }
        }
        List<Long> all = new ArrayList<>(creates);
        all.addAll(sets);
        say(key + "_create_p50_us", pct(creates, 0.50));
        say(key + "_p50_us", pct(all, 0.50));
        say(key + "_p99_us", pct(all, 0.99));
    }

    /** The same propagation figures for Curator's (deprecated) PathChildrenCache. */
    @SuppressWarnings("deprecation")
    static void pathChildrenCache(int n) throws Exception {
        CuratorFramework writer = client();
        CuratorFramework reader = client();
        String dir = base + "/pcc";
        writer.create().creatingParentsIfNeeded().forPath(dir);
        BlockingQueue<Long> seen = new ArrayBlockingQueue<>(1024);
        PathChildrenCache cache = new PathChildrenCache(reader, dir, true);
        CountDownLatch ready = new CountDownLatch(1);
        cache.getListenable().addListener((c, e) -> {
            if (e.getType() == PathChildrenCacheEvent.Type.CHILD_ADDED
                    || e.getType() == PathChildrenCacheEvent.Type.CHILD_UPDATED) {
                seen.offer(System.nanoTime());
            } else if (e.getType() == PathChildrenCacheEvent.Type.INITIALIZED) {
                ready.countDown();
            }
        });
        cache.start(PathChildrenCache.StartMode.POST_INITIALIZED_EVENT);
        ready.await();
        propagation(writer, dir, seen, n, "pcc");
        cache.close();
        writer.close();
        reader.close();
    }

    /** A fresh client's CuratorCache of dir, started until initialized. */
    static void load(String dir) throws Exception {
        CuratorFramework reader = client();
        CountDownLatch ready = new CountDownLatch(1);
        CuratorCache cache = CuratorCache.build(reader, dir);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forInitialized(ready::countDown)
                .build());
        long t0 = System.nanoTime();
        cache.start();
        ready.await();
        long took = System.nanoTime() - t0;
        long children = cache.stream().count() - 1;
        say("load_" + children + "_us", took / 1000.0);
        cache.close();
        reader.close();
    }

    /** 100 getData in flight at once (inBackground), until every reply is in. */
    static void reads(int rounds) throws Exception {
        CuratorFramework c = client();
        String p = base + "/floor";
        c.create().creatingParentsIfNeeded().forPath(p, new byte[] {1});
        List<Long> times = new ArrayList<>();
        for (int r = 0; r < rounds + rounds / 2; r++) {
            CountDownLatch done = new CountDownLatch(100);
            long t0 = System.nanoTime();
            for (int i = 0; i < 100; i++) {
                c.getData().inBackground((cl, event) -> done.countDown()).forPath(p);
            }
            done.await();
            if (r >= rounds / 2) {
                times.add(System.nanoTime() - t0);
            }
        }
        say("batch_getdata_100_p50_us", pct(times, 0.50));
        c.close();
    }

    static void discovery(int queries, int picks) throws Exception {
        CuratorFramework registrar = client();
        CuratorFramework querier = client();
        String path = base + "/discovery";
        ServiceDiscovery<String> registry = ServiceDiscoveryBuilder.builder(String.class)
                .client(registrar).basePath(path)
                .serializer(new JsonInstanceSerializer<>(String.class)).build();
        registry.start();
        for (int i = 0; i < 100; i++) {
            registry.registerService(ServiceInstance.<String>builder().name("svc")
                    .id(String.format("instance-%03d", i)).address("10.0.0.1").port(8000 + i)
                    .uriSpec(new UriSpec("{scheme}://{address}:{port}"))
                    .payload("some payload").build());
        }
        ServiceDiscovery<String> discovery = ServiceDiscoveryBuilder.builder(String.class)
                .client(querier).basePath(path)
                .serializer(new JsonInstanceSerializer<>(String.class)).build();
        discovery.start();
        List<Long> times = new ArrayList<>();
        for (int q = 0; q < queries + queries / 5; q++) {
            long t0 = System.nanoTime();
            int n = discovery.queryForInstances("svc").size();
            if (n != 100) {
                throw new IllegalStateException("found " + n);
            }
            if (q >= queries / 5) {
                times.add(System.nanoTime() - t0);
            }
        }
        say("discovery_query_p50_us", pct(times, 0.50));
        say("discovery_query_p99_us", pct(times, 0.99));
        ServiceProvider<String> provider = discovery.serviceProviderBuilder().serviceName("svc").build();
        provider.start();
        long ports = 0;
        for (int i = 0; i < picks / 5; i++) { // warm-up (JIT)
            ports += provider.getInstance().getPort();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < picks; i++) {
            ports += provider.getInstance().getPort();
        }
        long t = System.nanoTime() - t0;
        say("provider_picks_per_s", picks / (t / 1e9) + (ports == 0 ? 1 : 0));
        provider.close();
        discovery.close();
        registry.close();
        querier.close();
        registrar.close();
    }
}
