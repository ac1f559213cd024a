// Curator 5.4 barrier members driven by docent's barrier interop test over stdin/stdout, one
// command per line. Blocking calls (enter, leave, wait) run on their own thread and answer
// when they return, so several members can wait at once:
//
//   enter NAME PATH QTY MS  -> "entered NAME true|false"   (DistributedDoubleBarrier)
//   leave NAME MS           -> "left NAME true|false"
//   set PATH                -> "set"                        (DistributedBarrier)
//   remove PATH             -> "removed"
//   wait PATH MS            -> "waited true|false"

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedBarrier;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class BarrierPeer {
    private static CuratorFramework client;
    private static final Map<String, DistributedDoubleBarrier> MEMBERS = new ConcurrentHashMap<>();

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    interface Call {
        String run() throws Exception;
    }

    /// Runs a blocking call on its own thread; its answer (or error) is one line.
    static void background(Call call) {
        new Thread(() -> {
            try {
                say(call.run());
            } catch (Exception e) {
                say("error " + e);
            }
        }).start();
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
                switch (w[0]) {
                    case "enter": {
                        DistributedDoubleBarrier member =
                                new DistributedDoubleBarrier(client, w[2], Integer.parseInt(w[3]));
                        MEMBERS.put(w[1], member);
                        long ms = Long.parseLong(w[4]);
                        background(() -> "entered " + w[1] + " " + member.enter(ms, TimeUnit.MILLISECONDS));
                        break;
                    }
                    case "leave": {
                        DistributedDoubleBarrier member = MEMBERS.get(w[1]);
                        long ms = Long.parseLong(w[2]);
                        background(() -> "left " + w[1] + " " + member.leave(ms, TimeUnit.MILLISECONDS));
                        break;
                    }
                    case "set":
                        new DistributedBarrier(client, w[1]).setBarrier();
                        say("set");
                        break;
                    case "remove":
                        new DistributedBarrier(client, w[1]).removeBarrier();
                        say("removed");
                        break;
                    case "wait": {
                        DistributedBarrier barrier = new DistributedBarrier(client, w[1]);
                        long ms = Long.parseLong(w[2]);
                        background(() -> "waited " + barrier.waitOnBarrier(ms, TimeUnit.MILLISECONDS));
                        break;
                    }
                    default:
                        say("error unknown command " + w[0]);
                }
            } catch (Exception e) {
                say("error " + e);
            }
        }
        client.close();
    }
}
