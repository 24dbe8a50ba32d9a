#!/usr/bin/env python3
"""A room system's SIP over TLS for SIPp, which Debian builds without TLS.

Listens on LISTEN (host:port) for plain TCP and carries each connection
over TLS to TARGET (host:port), checking the gateway's certificate against
CAFILE and the target's address (an IP in the certificate's names), as a
device would. Runs until killed; prints "ready" once listening and one line
per connection.

    tls_relay.py LISTEN TARGET CAFILE
"""

import socket
import ssl
import sys
import threading


def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    listen, target, cafile = sys.argv[1:4]
    lhost, lport = listen.rsplit(":", 1)
    thost, tport = target.rsplit(":", 1)
    context = ssl.create_default_context(cafile=cafile)
    server = socket.create_server((lhost, int(lport)))
    print("ready", flush=True)
    while True:
        plain, peer = server.accept()
        try:
            tls = context.wrap_socket(socket.create_connection((thost, int(tport))), server_hostname=thost)
        except (OSError, ssl.SSLError) as error:
            print(f"TLS to {target} refused: {error}", flush=True)
            plain.close()
            continue
        print(f"{peer[0]}:{peer[1]} -> {target} over {tls.version()}, certificate checked", flush=True)
        threading.Thread(target=pump, args=(plain, tls), daemon=True).start()
        threading.Thread(target=pump, args=(tls, plain), daemon=True).start()


if __name__ == "__main__":
    main()
