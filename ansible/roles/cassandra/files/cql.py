#!/usr/bin/python3
"""cql.py <host> <port> <user> [statement...]

A minimal CQL native protocol (v4) client, so that the role needs no cqlsh (and no Python driver)
on the node: logs in with PLAIN SASL and runs each statement (the arguments, then every further line of
standard input) at consistency ONE, printing rows of a SELECT as tab-separated text. The password is
the first line of standard input, never on the command line (nor a statement that holds a secret). Exit 0 on success, 2 when the login is refused, 1 on any other error.
"""
import json
import socket
import struct
import sys

OP_ERROR, OP_STARTUP, OP_READY, OP_AUTHENTICATE, OP_QUERY, OP_RESULT, OP_AUTH_RESPONSE, OP_AUTH_SUCCESS = 0, 1, 2, 3, 7, 8, 0x0F, 0x10


def string(s: str, long: bool = False) -> bytes:
    b = s.encode()
    return (struct.pack('>i', len(b)) if long else struct.pack('>H', len(b))) + b


class Conn:
    def __init__(self, host: str, port: int):
        self.s = socket.create_connection((host, port), timeout=30)
        self.stream = 0

    def request(self, op: int, body: bytes):
        self.stream = (self.stream + 1) % 32768
        self.s.sendall(struct.pack('>BBhBi', 4, 0, self.stream, op, len(body)) + body)
        head = self.read(9)
        _, _, _, rop, n = struct.unpack('>BBhBi', head)
        return rop, self.read(n)

    def read(self, n: int) -> bytes:
        buf = b''
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('connection closed by the server')
            buf += chunk
        return buf


def error_text(body: bytes) -> tuple:
    code = struct.unpack('>i', body[:4])[0]
    n = struct.unpack('>H', body[4:6])[0]
    return code, body[6:6 + n].decode(errors='replace')


def rows(body: bytes) -> list:
    kind = struct.unpack('>i', body[:4])[0]
    if kind != 2:
        return []
    p = 4
    flags, ncols = struct.unpack('>ii', body[p:p + 8]); p += 8
    if flags & 2:  # has_more_pages: paging state
        n = struct.unpack('>i', body[p:p + 4])[0]; p += 4 + max(n, 0)
    if flags & 1:  # global table spec
        for _ in range(2):
            n = struct.unpack('>H', body[p:p + 2])[0]; p += 2 + n
    types = [None] * ncols
    if not flags & 4:
        for i in range(ncols):
            if not flags & 1:
                for _ in range(2):
                    n = struct.unpack('>H', body[p:p + 2])[0]; p += 2 + n
            n = struct.unpack('>H', body[p:p + 2])[0]; p += 2 + n
            types[i] = struct.unpack('>H', body[p:p + 2])[0]
            p = skip_type(body, p)
    count = struct.unpack('>i', body[p:p + 4])[0]; p += 4
    out = []
    for _ in range(count):
        row = []
        for i in range(ncols):
            n = struct.unpack('>i', body[p:p + 4])[0]; p += 4
            value = body[p:p + max(n, 0)]; p += max(n, 0)
            row.append('' if n < 0 else text_map(value) if types[i] == 0x21 else value.decode(errors='replace'))
        out.append(row)
    return out


def text_map(b: bytes) -> str:
    """A map of text to text (such as a keyspace's replication) as JSON with sorted keys."""
    n, p, d = struct.unpack('>i', b[:4])[0], 4, {}
    for _ in range(n):
        kv = []
        for _ in range(2):
            m = struct.unpack('>i', b[p:p + 4])[0]; p += 4
            kv.append(b[p:p + max(m, 0)].decode(errors='replace')); p += max(m, 0)
        d[kv[0]] = kv[1]
    return json.dumps(d, sort_keys=True)


def skip_type(body: bytes, p: int) -> int:
    t = struct.unpack('>H', body[p:p + 2])[0]; p += 2
    if t == 0:  # custom
        n = struct.unpack('>H', body[p:p + 2])[0]; return p + 2 + n
    if t in (0x20, 0x22):  # list, set
        return skip_type(body, p)
    if t == 0x21:  # map
        return skip_type(body, skip_type(body, p))
    if t == 0x31:  # tuple
        n = struct.unpack('>H', body[p:p + 2])[0]; p += 2
        for _ in range(n):
            p = skip_type(body, p)
        return p
    if t == 0x30:  # udt
        for _ in range(2):
            n = struct.unpack('>H', body[p:p + 2])[0]; p += 2 + n
        n = struct.unpack('>H', body[p:p + 2])[0]; p += 2
        for _ in range(n):
            m = struct.unpack('>H', body[p:p + 2])[0]; p += 2 + m
            p = skip_type(body, p)
        return p
    return p


def main() -> int:
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = sys.stdin.readline().rstrip('\n')
    statements = sys.argv[4:] + [line.strip() for line in sys.stdin if line.strip()]
    try:
        c = Conn(host, port)
        op, body = c.request(OP_STARTUP, struct.pack('>H', 1) + string('CQL_VERSION') + string('3.0.0'))
        if op == OP_AUTHENTICATE:
            token = b'\0' + user.encode() + b'\0' + password.encode()
            op, body = c.request(OP_AUTH_RESPONSE, struct.pack('>i', len(token)) + token)
            if op == OP_ERROR:
                code, msg = error_text(body)
                print(f'login as {user} refused: {msg}', file=sys.stderr)
                return 2 if code == 0x0100 else 1
            if op != OP_AUTH_SUCCESS:
                print(f'unexpected answer {op} to the login', file=sys.stderr)
                return 1
        elif op != OP_READY:
            print(f'unexpected answer {op} to STARTUP', file=sys.stderr)
            return 1
        for stmt in statements:
            op, body = c.request(OP_QUERY, string(stmt, long=True) + struct.pack('>HB', 1, 0))
            if op == OP_ERROR:
                print(f'{stmt.split()[0]}: {error_text(body)[1]}', file=sys.stderr)
                return 1
            for row in rows(body):
                print('\t'.join(row))
        return 0
    except OSError as e:
        print(f'{host}:{port}: {e}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
