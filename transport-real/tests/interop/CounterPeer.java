// A Curator 5.4 counter peer driven by docent's counter interop test over stdin/stdout, one
// command per line, one reply line per command:
//   increment PATH N   DistributedAtomicLong.increment() N times -> "incremented ok=A failed=F"
//   long PATH          DistributedAtomicLong.get()               -> "long V"
//   count-set PATH V   SharedCount.setCount(V)                   -> "count-set"
//   count-wait PATH V  waits (20 s at most) until the SharedCount shows V -> "count V version N"
//   count-try PATH     trySetCount(current, current + 1)         -> "tried true|false"

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.retry.RetryNTimes;

public class CounterPeer {
    private static CuratorFramework client;

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
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
            String[] w = line.trim().split(" ");
            try {
                run(w);
            } catch (Exception e) {
                say("error " + e);
            }
        }
        client.close();
    }

    static void run(String[] w) throws Exception {
        switch (w[0]) {
            case "increment": {
                DistributedAtomicLong counter =
                        new DistributedAtomicLong(client, w[1], new RetryNTimes(1000, 5));
                int ok = 0, failed = 0;
                for (int i = 0; i < Integer.parseInt(w[2]); i++) {
                    AtomicValue<Long> result = counter.increment();
                    if (result.succeeded()) {
                        ok++;
                    } else {
                        failed++;
                    }
                }
                say("incremented ok=" + ok + " failed=" + failed);
                break;
            }
            case "long": {
                DistributedAtomicLong counter =
                        new DistributedAtomicLong(client, w[1], new RetryNTimes(10, 10));
                say("long " + counter.get().postValue());
                break;
            }
            case "count-set": {
                try (SharedCount count = new SharedCount(client, w[1], 0)) {
                    count.start();
                    count.setCount(Integer.parseInt(w[2]));
                }
                say("count-set");
                break;
            }
            case "count-wait": {
                try (SharedCount count = new SharedCount(client, w[1], 0)) {
                    count.start();
                    int want = Integer.parseInt(w[2]);
                    long deadline = System.currentTimeMillis() + 20000;
                    while (count.getCount() != want && System.currentTimeMillis() < deadline) {
                        Thread.sleep(20);
                    }
                    VersionedValue<Integer> seen = count.getVersionedValue();
                    say("count " + seen.getValue() + " version " + seen.getVersion());
                }
                break;
            }
            case "count-try": {
                try (SharedCount count = new SharedCount(client, w[1], 0)) {
                    count.start();
                    VersionedValue<Integer> seen = count.getVersionedValue();
                    say("tried " + count.trySetCount(seen, seen.getValue() + 1));
                }
                break;
            }
            default:
                say("error unknown command " + w[0]);
        }
    }
}
