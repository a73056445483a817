#!/usr/bin/env python3
"""killswitch-helper.py - the small servers and clients of daemon-killswitch.sh.

Servers (run inside the test's namespaces, in the foreground):
  portal ADDR PORT NFT_TABLE   a captive portal: every request is redirected to
                               /login until a login form is POSTed; then the client's
                               address joins the set "allowed" of NFT_TABLE (the café
                               stops intercepting it), as real portals do
  web ADDR PORT                the connectivity check target: /check answers 204
  sink ADDR PORT               TCP: reads until EOF, answers "N bytes from PEER"
  udpecho ADDR PORT            UDP: echoes every datagram
Clients (exit 0 on success, 1 otherwise; every wait is bounded):
  tcp HOST PORT NBYTES         send NBYTES, print the sink's answer
  udp HOST PORT                one datagram, wait 2 s for the echo
"""
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def http_server(addr, port, handler):
    cls = V6Server if ":" in addr else ThreadingHTTPServer
    cls.allow_reuse_address = True
    return cls((addr, port), handler)


def portal(addr, port, table):
    login_url = "http://%s:%d/login" % (addr, port)

    class Portal(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("portal: " + (fmt % args) + "\n")

        def send(self, code, body, headers=()):
            data = body.encode()
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.startswith("/login"):
                self.send(200, "<form method=post action=/login>"
                               "<input name=user><input type=submit value='I accept'></form>")
            else:
                self.send(302, "<a href='%s'>log in</a>" % login_url, [("Location", login_url)])

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            form = self.rfile.read(min(n, 4096)).decode(errors="replace")
            if not self.path.startswith("/login") or "user=" not in form:
                self.send(400, "bad form")
                return
            client = self.client_address[0]
            subprocess.run(["nft", "add", "element", "ip", table, "allowed", "{ %s }" % client],
                           check=True, timeout=10)
            self.send(200, "<p>Welcome, you are online.</p>")

    http_server(addr, port, Portal).serve_forever()


def web(addr, port):
    class Web(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("web: " + (fmt % args) + "\n")

        def do_GET(self):
            if self.path == "/check":
                self.send_response(204)
                self.send_header("Connection", "close")
                self.end_headers()
            else:
                data = b"the internet\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

    http_server(addr, port, Web).serve_forever()


def sink(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def serve(c, peer):
        with c:
            c.settimeout(20)
            total = 0
            try:
                while True:
                    b = c.recv(65536)
                    if not b:
                        break
                    total += len(b)
                c.sendall(("%d bytes from %s\n" % (total, peer[0])).encode())
            except OSError:
                pass

    while True:
        c, peer = s.accept()
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()


def udpecho(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def tcp(host, port, nbytes):
    try:
        with socket.create_connection((host, port), timeout=10) as c:
            c.settimeout(30)
            block = b"x" * 65536
            left = nbytes
            while left > 0:
                c.sendall(block[:min(left, len(block))])
                left -= min(left, len(block))
            c.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                b = c.recv(4096)
                if not b:
                    break
                answer += b
        print(answer.decode().strip())
        return 0 if answer.startswith(b"%d bytes" % nbytes) else 1
    except OSError as e:
        print("tcp %s:%d: %s" % (host, port, e), file=sys.stderr)
        return 1


def udp(host, port):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(b"ping", (host, port))
        data, _ = s.recvfrom(2048)
        return 0 if data == b"ping" else 1
    except OSError as e:
        print("udp %s:%d: %s" % (host, port, e), file=sys.stderr)
        return 1


def main(argv):
    cmd = argv[1]
    if cmd == "portal":
        portal(argv[2], int(argv[3]), argv[4])
    elif cmd == "web":
        web(argv[2], int(argv[3]))
    elif cmd == "sink":
        sink(argv[2], int(argv[3]))
    elif cmd == "udpecho":
        udpecho(argv[2], int(argv[3]))
    elif cmd == "tcp":
        return tcp(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "udp":
        return udp(argv[2], int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
