// A Curator 5.4 InterProcessReadWriteLock driven by docent's interop test over stdin/stdout,
// one command per line, one reply line per command (plus "overlap" whenever a hold finds
// another it must not share with).
//
// Holds are marked in a directory shared with docent: a reader creates "reader-<id>" and then
// looks for "writer"; a writer creates "writer" exclusively and then looks for any
// "reader-*". Marking before looking means two holders that must not overlap cannot both
// miss each other, whatever the timing of the pipes. Every command runs on the main thread:
// Curator's locks must be released by the thread that took them.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class RwLockPeer {
    private static CuratorFramework client;
    private static InterProcessReadWriteLock lock;
    private static Path marks;
    private static String id;

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static Path readerMark() {
        return marks.resolve("reader-" + id);
    }

    static void markRead() throws Exception {
        Files.createFile(readerMark());
        if (Files.exists(marks.resolve("writer"))) {
            say("overlap");
        }
    }

    static void markWrite() throws Exception {
        try {
            Files.createFile(marks.resolve("writer"));
        } catch (FileAlreadyExistsException e) {
            say("overlap");
        }
        try (DirectoryStream<Path> readers = Files.newDirectoryStream(marks, "reader-*")) {
            if (readers.iterator().hasNext()) {
                say("overlap");
            }
        }
    }

    static void unmark(boolean write) throws Exception {
        Files.deleteIfExists(write ? marks.resolve("writer") : readerMark());
    }

    static InterProcessMutex side(boolean write) {
        return write ? lock.writeLock() : lock.readLock();
    }

    static void mark(boolean write) throws Exception {
        if (write) {
            markWrite();
        } else {
            markRead();
        }
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
        // Commands: rw-new PATH MARKS ID | read-/write- acquire, try MS, release |
        // cycles N SEED (N holds, one in three a write, chosen by SEED) | quit
        switch (w[0]) {
            case "rw-new":
                lock = new InterProcessReadWriteLock(client, w[1]);
                marks = Paths.get(w[2]);
                id = w[3];
                say("ok");
                return true;
            case "read-acquire":
            case "write-acquire": {
                boolean write = w[0].startsWith("write");
                side(write).acquire();
                mark(write);
                say("acquired");
                return true;
            }
            case "read-try":
            case "write-try": {
                boolean write = w[0].startsWith("write");
                if (side(write).acquire(Long.parseLong(w[1]), TimeUnit.MILLISECONDS)) {
                    mark(write);
                    say("acquired");
                } else {
                    say("timeout");
                }
                return true;
            }
            case "read-release":
            case "write-release": {
                boolean write = w[0].startsWith("write");
                unmark(write);
                side(write).release();
                say("released");
                return true;
            }
            case "cycles": {
                int n = Integer.parseInt(w[1]);
                Random random = new Random(Long.parseLong(w[2]));
                for (int i = 0; i < n; i++) {
                    boolean write = random.nextInt(3) == 0;
                    side(write).acquire();
                    mark(write);
                    Thread.sleep(1 + random.nextInt(3));
                    unmark(write);
                    side(write).release();
                }
                say("cycles " + n);
                return true;
            }
            case "quit":
                say("bye");
                return false;
            default:
                say("error unknown command " + w[0]);
                return true;
        }
    }
}
