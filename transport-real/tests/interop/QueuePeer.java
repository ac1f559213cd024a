// A Curator 5.4 DistributedQueue peer (byte-array serializer) driven by docent's queue
// interop test over stdin/stdout, one command per line:
//   put HEX [HEX ...]   puts the items in one node (putMulti for several); replies "ok"
//   consume             starts consuming; prints "took HEX" for each item, as it is consumed
//   quit                closes the queue and exits
// Arguments: connect string, queue path, and optionally a lock path (Curator's lock safety).

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.queue.DistributedQueue;
import org.apache.curator.framework.recipes.queue.MultiItem;
import org.apache.curator.framework.recipes.queue.QueueBuilder;
import org.apache.curator.framework.recipes.queue.QueueConsumer;
import org.apache.curator.framework.recipes.queue.QueueSerializer;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class QueuePeer {
    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            s.append(String.format("%02x", b & 0xff));
        }
        return s.length() == 0 ? "-" : s.toString();
    }

    static byte[] unhex(String s) {
        if (s.equals("-")) {
            return new byte[0];
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    static final QueueSerializer<byte[]> BYTES = new QueueSerializer<byte[]>() {
        public byte[] serialize(byte[] item) {
            return item;
        }

        public byte[] deserialize(byte[] bytes) {
            return bytes;
        }
    };

    static DistributedQueue<byte[]> build(CuratorFramework client, QueueConsumer<byte[]> consumer,
            String path, String lockPath) throws Exception {
        QueueBuilder<byte[]> builder = QueueBuilder.builder(client, consumer, BYTES, path)
                .putInBackground(false);
        if (lockPath != null) {
            builder = builder.lockPath(lockPath);
        }
        DistributedQueue<byte[]> queue = builder.buildQueue();
        queue.start();
        return queue;
    }

    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.newClient(args[0], 10000, 10000,
                new ExponentialBackoffRetry(100, 5));
        client.start();
        if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
            say("error not connected");
            return;
        }
        String path = args[1];
        String lockPath = args.length > 2 ? args[2] : null;
        DistributedQueue<byte[]> producer = build(client, null, path, lockPath);
        DistributedQueue<byte[]> consumer = null;
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            try {
                if (w[0].equals("put")) {
                    List<byte[]> items = new ArrayList<>();
                    for (int i = 1; i < w.length; i++) {
                        items.add(unhex(w[i]));
                    }
                    if (items.size() == 1) {
                        producer.put(items.get(0));
                    } else {
                        final int[] next = {0};
                        producer.putMulti(new MultiItem<byte[]>() {
                            public byte[] nextItem() {
                                return next[0] < items.size() ? items.get(next[0]++) : null;
                            }
                        });
                    }
                    say("ok");
                } else if (w[0].equals("consume")) {
                    consumer = build(client, new QueueConsumer<byte[]>() {
                        public void consumeMessage(byte[] message) {
                            say("took " + hex(message));
                        }

                        public void stateChanged(CuratorFramework c, ConnectionState s) {
                        }
                    }, path, lockPath);
                    say("ok");
                } else if (w[0].equals("quit")) {
                    break;
                } else {
                    say("error unknown command " + w[0]);
                }
            } catch (Exception e) {
                say("error " + e);
            }
        }
        if (consumer != null) {
            consumer.close();
        }
        producer.close();
        client.close();
    }
}
