#!/usr/bin/env python3
# A Varlink client that hands its connection to a child and exits: the pid-reuse attack on a Varlink peer's
# identity (issue 21, item 1). Usage: varlink-handoff.py SOCKET IMAGE [silent]. It connects, calls Exists once
# (so a read grant exists for the connection; not with `silent`: then the connection's first call comes from
# the child, after the pid may have been reused), prints {"step": "parent", "pid": P}, forks, and the parent
# exits. The
# child keeps the connection and waits for JSON lines on stdin: {"method": M, "parameters": {...}} makes one
# call on the inherited connection and prints {"step": M, "reply": ...} ("closed" when the daemon closed it);
# "reconnect" opens a new connection of its own (the child is then the connecting process); "quit" ends it.
import json
import os
import socket
import sys
import time

path, image = sys.argv[1], sys.argv[2]
silent = len(sys.argv) > 3 and sys.argv[3] == 'silent'
conn = {'sock': None, 'buf': b''}


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conn['sock'], conn['buf'] = s, b''


def call(method, params):
    s = conn['sock']
    try:
        s.sendall(json.dumps({'method': method, 'parameters': params}).encode() + b'\0')
        while b'\0' not in conn['buf']:
            chunk = s.recv(65536)
            if not chunk:
                return 'closed'
            conn['buf'] += chunk
    except OSError:
        return 'closed'
    msg, _, conn['buf'] = conn['buf'].partition(b'\0')
    return json.loads(msg)


def out(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


connect()
if not silent:
    out({'step': 'before', 'reply': call('org.bootc.Storage.Exists', {'image': image})})
else:
    time.sleep(0.5)  # the daemon has accepted (and bound) the connection by now
if os.fork():
    out({'step': 'parent', 'pid': os.getpid()})
    os._exit(0)
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd == 'quit':
        break
    if cmd == 'reconnect':
        connect()
        out({'step': 'reconnect'})
        continue
    out({'step': cmd['method'], 'reply': call(cmd['method'], cmd['parameters'])})
