// A JeroMQ peer for zmtp/tests/jeromq.rs. The JeroMQ that Debian ships
// (0.3.x) speaks ZMTP 2.0 only, so this is the kit's real ZMTP 2.0 peer.
//
//   Peer router COUNT            binds a ROUTER on a free loopback port, prints
//                                "listening on ENDPOINT", echoes COUNT messages
//   Peer dealer ENDPOINT ID      connects a DEALER named ID, sends one message,
//                                waits for its echo
//
// Every message received is printed as one line: its frames in hex, joined
// by commas (an empty frame is an empty field). Every receive waits at most
// 20 s; a timeout exits 3.
import org.zeromq.ZMQ;
import java.util.ArrayList;
import java.util.List;

public class Peer {
    static String hex(byte[] frame) {
        StringBuilder s = new StringBuilder();
        for (byte b : frame) s.append(String.format("%02x", b & 0xff));
        return s.toString();
    }

    static List<byte[]> receive(ZMQ.Socket socket) {
        List<byte[]> frames = new ArrayList<>();
        do {
            byte[] frame = socket.recv(0);
            if (frame == null) {
                System.err.println("no message within 20 s");
                System.exit(3);
            }
            frames.add(frame);
        } while (socket.hasReceiveMore());
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < frames.size(); i++) {
            if (i > 0) line.append(',');
            line.append(hex(frames.get(i)));
        }
        System.out.println(line);
        System.out.flush();
        return frames;
    }

    static void send(ZMQ.Socket socket, List<byte[]> frames) {
        for (int i = 0; i < frames.size(); i++) {
            socket.send(frames.get(i), i + 1 < frames.size() ? ZMQ.SNDMORE : 0);
        }
    }

    public static void main(String[] args) {
        ZMQ.Context context = ZMQ.context(1);
        if (args[0].equals("router")) {
            ZMQ.Socket router = context.socket(ZMQ.ROUTER);
            router.setReceiveTimeOut(20000);
            router.setLinger(1000);
            int port = router.bindToRandomPort("tcp://127.0.0.1");
            System.out.println("listening on tcp://127.0.0.1:" + port);
            System.out.flush();
            for (int n = Integer.parseInt(args[1]); n > 0; n--) {
                send(router, receive(router));
            }
            router.close();
        } else {
            ZMQ.Socket dealer = context.socket(ZMQ.DEALER);
            dealer.setReceiveTimeOut(20000);
            dealer.setLinger(1000);
            dealer.setIdentity(args[2].getBytes());
            dealer.connect(args[1]);
            List<byte[]> message = new ArrayList<>();
            message.add(new byte[0]);
            message.add("hello".getBytes());
            message.add(new byte[0]);
            message.add(new byte[300]);
            send(dealer, message);
            receive(dealer);
            dealer.close();
        }
        context.term();
    }
}
