// Curator 5.4's side of docent's ensemble benchmark (benches/ensemble.rs): one client with
// Curator's EnsembleTracker (on by default), whose moves between servers the bench times.
//
//   java -cp … EnsembleBench CONNECT_STRING SESSION_MS
//
// prints "session 0xHEX" and "ready" once connected, then, as things happen (times in
// microseconds since the Unix epoch, so that the bench can compare them with its own clock):
//   state NAME MICROS         a connection state change (RECONNECTED after a move)
//   ensemble STRING MICROS    a new connection string from the tracker (polled every 200 µs)
// It exits when its stdin closes.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Instant;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;

public class EnsembleBench {
    static long micros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        int sessionMs = Integer.parseInt(args[1]);
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(sessionMs)
                .retryPolicy(new RetryNTimes(1000, 20))
                .ensembleTracker(true)
                .build();
        client.getConnectionStateListenable().addListener(
                (c, state) -> say("state " + state + " " + micros()));
        client.start();
        client.blockUntilConnected();
        long session = client.getZookeeperClient().getZooKeeper().getSessionId();
        say("session 0x" + Long.toHexString(session));
        Thread poll = new Thread(() -> {
            String last = null;
            while (true) {
                String now = client.getZookeeperClient().getCurrentConnectionString();
                if (now != null && !now.equals(last)) {
                    say("ensemble " + now + " " + micros());
                    last = now;
                }
                try {
                    Thread.sleep(0, 200_000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        poll.setDaemon(true);
        poll.start();
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        while (in.readLine() != null) {
        }
        client.close();
    }
}
