#!/usr/bin/env python3
"""Plays systemd's side of sd_notify(3) for tests: binds the AF_UNIX datagram socket given as argv[1],
then prints one JSON line per message: the sender's pid (SCM_CREDENTIALS, as systemd attributes it)
and the fields. Closes every passed file descriptor at once, as systemd does, which releases a
`systemd-notify` waiting on its BARRIER=1."""
import json, os, socket, struct, sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(path)
print(json.dumps({"listening": path}), flush=True)
while True:
    data, ancdata, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(64 * 4) + socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for (fd,) in struct.iter_unpack("i", payload[: len(payload) - len(payload) % 4]):
                os.close(fd)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
    print(json.dumps({"pid": pid, "fields": fields}), flush=True)
