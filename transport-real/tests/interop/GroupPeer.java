// A Curator 5.4 group member and persistent node driven by docent's interop test over
// stdin/stdout, one command per line, one reply line per command:
//   join <group> <id> <data>   → ok            (a GroupMember)
//   members                    → members id=data,...   (sorted by id, data as UTF-8)
//   set <data>                 → ok            (GroupMember.setThisData)
//   leave                      → ok
//   node <path> <data>         → node <actual path>   (an EPHEMERAL PersistentNode, created)
//   nodepath                   → node <actual path, or "none">
//   nodeclose                  → ok
//   get <path>                 → data <utf8>  or  missing
//   delete <path>              → ok
//   quit

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.nodes.GroupMember;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class GroupPeer {
    private static CuratorFramework client;
    private static GroupMember member;
    private static PersistentNode node;

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
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
            if (w[0].equals("quit")) {
                break;
            }
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
            case "join":
                member = new GroupMember(client, w[1], w[2], utf8(w[3]));
                member.start();
                say("ok");
                break;
            case "members":
                StringBuilder out = new StringBuilder("members ");
                Map<String, byte[]> sorted = new TreeMap<>(member.getCurrentMembers());
                for (Map.Entry<String, byte[]> e : sorted.entrySet()) {
                    if (out.length() > 8) {
                        out.append(',');
                    }
                    out.append(e.getKey()).append('=')
                            .append(new String(e.getValue(), StandardCharsets.UTF_8));
                }
                say(out.toString());
                break;
            case "set":
                member.setThisData(utf8(w[1]));
                say("ok");
                break;
            case "leave":
                member.close();
                say("ok");
                break;
            case "node":
                node = new PersistentNode(client, CreateMode.EPHEMERAL, false, w[1], utf8(w[2]));
                node.start();
                if (!node.waitForInitialCreate(30, TimeUnit.SECONDS)) {
                    say("error not created");
                    break;
                }
                say("node " + node.getActualPath());
                break;
            case "nodepath":
                String path = node.getActualPath();
                say("node " + (path == null ? "none" : path));
                break;
            case "nodeclose":
                node.close();
                say("ok");
                break;
            case "get":
                try {
                    say("data " + new String(client.getData().forPath(w[1]), StandardCharsets.UTF_8));
                } catch (KeeperException.NoNodeException e) {
                    say("missing");
                }
                break;
            case "delete":
                client.delete().forPath(w[1]);
                say("ok");
                break;
            default:
                say("error unknown command " + w[0]);
        }
    }
}
