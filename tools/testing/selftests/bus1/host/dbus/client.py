#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# D-Bus clients in Debian's python3-dbus (and raw sockets for bad input),
# for host/test-dbus.sh: client.py ADDRESS CHECK [ARGS]. Each check prints
# what it saw, "FAIL: ..." lines for what is wrong, and exits 0 only if
# nothing is. The service is svc.py, owning org.bus1.Test.
import os
import re
import socket
import struct
import sys
import time

dbus = GLib = None
ADDR = sys.argv[1]
PATH = ADDR.split("unix:path=", 1)[1].split(",")[0]
failed = 0


def check(cond, what):
    global failed
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failed += 1


def bus():
    return dbus.bus.BusConnection(ADDR)


def driver(b):
    return dbus.Interface(b.get_object("org.freedesktop.DBus",
                                       "/org/freedesktop/DBus"),
                          "org.freedesktop.DBus")


def svc(b, name="org.bus1.Test"):
    return dbus.Interface(b.get_object(name, "/org/bus1/Test"),
                          "org.bus1.Test")


def spin(cond, timeout=5.0):
    """run the main loop until cond() or timeout; returns cond()"""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    tid = GLib.timeout_add(20, lambda: True)
    while not cond() and time.monotonic() < end:
        ctx.iteration(True)
    GLib.source_remove(tid)
    return cond()


def error_name(fn):
    try:
        fn()
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name()
    return None


def t_fd():
    b = bus()
    r, w = os.pipe()
    os.write(w, b"through an fd")
    os.close(w)
    got = svc(b).ReadFd(dbus.types.UnixFd(r))
    os.close(r)
    check(got == "through an fd", "ReadFd returned %r" % str(got))


def t_queue():
    a, b, c = bus(), bus(), bus()
    d = driver(a)
    n = "org.bus1.Test.Queue"
    seen = []

    def flt(conn, msg):
        if msg.get_member() in ("NameAcquired", "NameLost") and \
                msg.get_args_list()[0] == n:
            seen.append(msg.get_member())
    a.add_message_filter(flt)
    AR, RE, DNQ = (dbus.bus.NAME_FLAG_ALLOW_REPLACEMENT,
                   dbus.bus.NAME_FLAG_REPLACE_EXISTING,
                   dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
    check(a.request_name(n, 0) == 1, "a: PRIMARY_OWNER")
    check(b.request_name(n, 0) == 2, "b: IN_QUEUE")
    check(b.request_name(n, DNQ) == 3, "b with DO_NOT_QUEUE: EXISTS")
    check(list(d.ListQueuedOwners(n)) == [a.get_unique_name()],
          "DO_NOT_QUEUE took b out of the queue")
    check(b.request_name(n, 0) == 2, "b: IN_QUEUE again")
    check(c.request_name(n, RE) == 2,
          "c REPLACE_EXISTING without ALLOW_REPLACEMENT: IN_QUEUE")
    u = [x.get_unique_name() for x in (a, b, c)]
    check(list(d.ListQueuedOwners(n)) == u, "queue is a, b, c")
    check(a.request_name(n, AR) == 4, "a again: ALREADY_OWNER")
    check(c.request_name(n, RE) == 1, "c replaces a: PRIMARY_OWNER")
    check(list(d.ListQueuedOwners(n)) == [u[2], u[0], u[1]],
          "replaced a is queued behind c")
    check(spin(lambda: seen == ["NameAcquired", "NameLost"]),
          "a got NameAcquired then NameLost: %s" % seen)
    check(c.release_name(n) == 1, "c: RELEASED")
    check(d.GetNameOwner(n) == u[0], "a owns it again")
    check(b.release_name(n) == 1, "b leaves the queue: RELEASED")
    check(b.release_name(n) == 3, "b: NOT_OWNER")
    check(b.release_name("org.bus1.Test.Nobody") == 2, "NON_EXISTENT")
    check(a.request_name(n, AR | DNQ) == 4, "a: ALREADY_OWNER")
    check(c.request_name(n, RE) == 1, "c replaces a")
    check(list(d.ListQueuedOwners(n)) == [u[2]],
          "a (DO_NOT_QUEUE) is not queued")
    c.close()
    check(spin(lambda: error_name(lambda: d.GetNameOwner(n)) ==
               "org.freedesktop.DBus.Error.NameHasNoOwner"),
          "name gone with its owner")


def t_match():
    b = bus()
    got = []
    rules = ["type='signal',interface='org.bus1.Test',member='Ping',"
             "arg0='yes'",
             "type='signal',member='Ping',arg0namespace='ns.a'",
             "type='signal',sender='org.bus1.Test',path_namespace='/org/bus1',"
             "arg0path='/p/'",
             "type='signal',member='Ping',arg0='end'",
             "type='signal',member='Ping',destination=':1.99999'",
             "type='signal',member='Ping',path='/other'",
             "type='method_call',interface='org.bus1.Test'"]
    for r in rules:
        b.add_match_string(r)

    def flt(conn, msg):
        if msg.get_member() == "Ping":
            got.append(str(msg.get_args_list()[0]))
    b.add_message_filter(flt)
    s = svc(b)
    s.Emit(["no", "yes", "ns.a.b", "ns.ab", "/p/q", "/pq", "yes", "end"])
    exp = ["yes", "ns.a.b", "/p/q", "yes", "end"]
    check(spin(lambda: got == exp) and spin(lambda: False, 0.2) or
          got == exp, "matched %s, expected %s" % (got, exp))
    b.remove_match_string(rules[0])
    del got[:]
    s.Emit(["yes", "end"])
    check(spin(lambda: got == ["end"]), "after RemoveMatch: %s" % got)
    d = driver(b)
    check(error_name(lambda: d.RemoveMatch(rules[0])) ==
          "org.freedesktop.DBus.Error.MatchRuleNotFound", "MatchRuleNotFound")
    for bad in ("type='bogus'", "arg64='x'", "foo='bar'", "member='a",
                "path='/a',path_namespace='/b'", "interface='no dots'"):
        check(error_name(lambda: d.AddMatch(bad)) ==
              "org.freedesktop.DBus.Error.MatchRuleInvalid",
              "MatchRuleInvalid for %s" % bad)


def t_noc():
    w, o = bus(), bus()
    n = "org.bus1.Test.Noc"
    got = []
    w.add_match_string("type='signal',sender='org.freedesktop.DBus',"
                       "member='NameOwnerChanged',arg0='%s'" % n)
    w.add_message_filter(lambda c, m: got.append(tuple(
        str(x) for x in m.get_args_list()))
        if m.get_member() == "NameOwnerChanged" else None)
    o.request_name(n, 0)
    o.release_name(n)
    u = o.get_unique_name()
    exp = [(n, "", u), (n, u, "")]
    check(spin(lambda: got == exp), "NameOwnerChanged %s" % got)


def t_flood(limit):
    b = bus()
    d = driver(b)
    n = 0
    err = None
    while n <= limit + 10:
        err = error_name(lambda: d.AddMatch("type='signal',member='M%d'" % n))
        if err:
            break
        n += 1
    check(n == limit and err == "org.freedesktop.DBus.Error.LimitsExceeded",
          "%d matches accepted, then %s" % (n, err))
    check(len(d.GetId()) == 32, "connection still served")
    d.RemoveMatch("type='signal',member='M0'")
    check(error_name(lambda: d.AddMatch("type='signal',member='X'")) is None,
          "a removed match frees a slot")


def t_errors():
    if os.getuid() == 0:
        os.setgroups([4, 24])   # something to see in UnixGroupIDs
    b = bus()
    d = driver(b)
    E = "org.freedesktop.DBus.Error."
    cases = [
        (lambda: d.GetNameOwner("org.bus1.Nobody"), "NameHasNoOwner"),
        (lambda: svc(b, "org.bus1.Nobody").Echo("x"), "ServiceUnknown"),
        (lambda: b.call_blocking(":1.99999", "/", "x.y", "Z", "", []),
         "NameHasNoOwner"),
        (lambda: d.NoSuchMethod(), "UnknownMethod"),
        (lambda: d.RequestName("org.bus1.Denied", dbus.UInt32(0)),
         "AccessDenied"),
        (lambda: d.RequestName(":1.5", dbus.UInt32(0)), "InvalidArgs"),
        (lambda: d.RequestName("nodots", dbus.UInt32(0)), "InvalidArgs"),
        (lambda: b.call_blocking("org.freedesktop.DBus",
                                 "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "RequestName", "u",
                                 [42]), "InvalidArgs"),
        (lambda: d.StartServiceByName("org.bus1.Nobody", dbus.UInt32(0)),
         "ServiceUnknown"),
        (lambda: b.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus.Properties", "Set",
                                 "ssv", ["org.freedesktop.DBus", "Features",
                                         dbus.Array([], signature="s")]),
         "PropertyReadOnly"),
        (lambda: d.GetConnectionUnixUser("org.bus1.Nobody"), "NameHasNoOwner"),
    ]
    for fn, name in cases:
        got = error_name(fn)
        check(got == E + name, "expected %s, got %s" % (name, got))
    b.call_blocking("org.freedesktop.DBus", "/", "org.freedesktop.DBus.Peer",
                    "Ping", "", [])
    check(d.NameHasOwner("org.freedesktop.DBus"), "NameHasOwner(bus)")
    check(d.GetConnectionUnixUser(b.get_unique_name()) == os.getuid(),
          "GetConnectionUnixUser")
    check(d.GetConnectionUnixProcessID(b.get_unique_name()) == os.getpid(),
          "GetConnectionUnixProcessID")
    cr = d.GetConnectionCredentials(b.get_unique_name())
    check(cr["UnixUserID"] == os.getuid() and cr["ProcessID"] == os.getpid()
          and sorted(cr["UnixGroupIDs"]) == sorted(os.getgroups()),
          "GetConnectionCredentials %s, groups %s" % (dict(cr),
                                                      os.getgroups()))


def t_activate(name):
    b = bus()
    d = driver(b)
    check(name in d.ListActivatableNames(), "ListActivatableNames")
    check(not d.NameHasOwner(name), "not running before")
    check(svc(b, name).Whoami() == name, "a call activated it")
    check(d.StartServiceByName(name, dbus.UInt32(0)) == 2, "ALREADY_RUNNING")


def t_start(name):
    b = bus()
    d = driver(b)
    check(not d.NameHasOwner(name), "not running before")
    check(d.StartServiceByName(name, dbus.UInt32(0)) == 1,
          "StartServiceByName: SUCCESS")
    check(d.NameHasOwner(name), "running after")
    check(d.StartServiceByName(name, dbus.UInt32(0)) == 2,
          "StartServiceByName again: ALREADY_RUNNING")


def t_start_failing(name):
    b = bus()
    d = driver(b)
    got = error_name(lambda: d.StartServiceByName(name, dbus.UInt32(0)))
    check(got == "org.freedesktop.DBus.Error.Spawn.ChildExited",
          "StartServiceByName of a failing program: %s" % got)


def t_diecall():
    b = bus()
    m = dbus.lowlevel.MethodCallMessage("org.bus1.Test", "/org/bus1/Test",
                                        "org.bus1.Test", "Slow")
    m.append(dbus.UInt32(300), signature="u")
    b.send_message(m)
    b.flush()
    os._exit(0)


def t_noreply(name):
    b = bus()
    t0 = time.monotonic()
    got = error_name(lambda: svc(b, name).Quit(timeout=20))
    dt = time.monotonic() - t0
    check(got == "org.freedesktop.DBus.Error.NoReply" and dt < 5,
          "service died mid-call: %s after %.1f s" % (got, dt))


def t_stuck(secs):
    b = bus()
    b.add_match_string("type='signal',member='Blob'")
    print("stuck", flush=True)
    time.sleep(float(secs))     # never reads


def t_conns(limit):
    held = []
    err = None
    while len(held) <= limit:
        try:
            held.append(bus())
        except dbus.exceptions.DBusException as e:
            err = e
            break
    check(len(held) == limit and err is not None,
          "%d connections accepted, then: %s" % (len(held), err))
    held.pop().close()
    try:
        held.append(bus())
        check(True, "a closed connection frees a slot")
    except dbus.exceptions.DBusException as e:
        check(False, "a closed connection frees a slot: %s" % e)


def raw(greeting, then=b"", auth=False):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(PATH)
    s.settimeout(8)
    if auth:
        s.sendall(b"\0AUTH EXTERNAL " +
                  str(os.getuid()).encode().hex().encode() + b"\r\n")
        check(s.recv(4096).startswith(b"OK "), "authenticated")
        s.sendall(b"BEGIN\r\n")
    s.sendall(greeting)
    if then:
        s.sendall(then)
    wait_closed(s)


def marshal_call(serial, fields):
    """a method call without body; fields: (code, signature, value)"""
    arr = b""
    for code, sig, val in fields:
        arr += b"\0" * (-(16 + len(arr)) % 8)
        arr += bytes([code, 1]) + sig.encode() + b"\0"
        if sig == "u":
            arr += struct.pack("<I", val)
        else:
            v = val.encode()
            arr += struct.pack("<I", len(v)) + v + b"\0"
    msg = struct.pack("<cBBBIII", b"l", 1, 0, 1, 0, serial, len(arr)) + arr
    return msg + b"\0" * (-len(msg) % 8)


def wait_closed(s):
    """the broker closes @s before its timeout"""
    t0 = time.monotonic()
    try:
        while s.recv(65536):
            pass
        closed = True
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    check(closed, "broker closed the connection after %.1f s" %
          (time.monotonic() - t0))


def raw_hello(fds):
    """a raw client, authenticated (with fd passing if @fds) and past
    Hello: (the socket, its unique name)"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(PATH)
    s.settimeout(8)
    s.sendall(b"\0AUTH EXTERNAL " +
              str(os.getuid()).encode().hex().encode() + b"\r\n")
    check(s.recv(4096).startswith(b"OK "), "authenticated")
    if fds:
        s.sendall(b"NEGOTIATE_UNIX_FD\r\n")
        check(s.recv(4096).startswith(b"AGREE_UNIX_FD"), "fds agreed")
    drv = "org.freedesktop.DBus"
    s.sendall(b"BEGIN\r\n" + marshal_call(1, [
        (1, "o", "/org/freedesktop/DBus"), (2, "s", drv), (3, "s", "Hello"),
        (6, "s", drv)]))
    u = re.search(rb":1\.[0-9]+", s.recv(4096))
    check(u is not None, "Hello answered")
    return s, u.group(0).decode() if u else ""


def t_fdcount():
    """a message announcing an fd that is not attached, after Hello"""
    s, _ = raw_hello(True)
    drv = "org.freedesktop.DBus"
    s.sendall(marshal_call(2, [(1, "o", "/"), (2, "s", drv + ".Peer"),
                               (3, "s", "Ping"), (6, "s", drv),
                               (9, "u", 1)]))
    wait_closed(s)


def t_toolong(size):
    """after Hello, a header announcing a message of @size bytes"""
    s, _ = raw_hello(False)
    s.sendall(struct.pack("<cBBBIII", b"l", 1, 0, 1, size - 16, 2, 0))
    wait_closed(s)


def t_nofd():
    """an fd to a client that did not negotiate fd passing"""
    s, u = raw_hello(False)
    b = bus()
    r, w = os.pipe()
    got = error_name(lambda: b.call_blocking(u, "/", "org.bus1.X", "Y", "h",
                                             [dbus.types.UnixFd(r)]))
    os.close(r)
    os.close(w)
    check(got == "org.freedesktop.DBus.Error.NotSupported",
          "an fd to %s, which cannot take fds: %s" % (u, got))
    s.close()


def t_mechs():
    """the broker offers SASL EXTERNAL alone"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(PATH)
    s.settimeout(8)
    s.sendall(b"\0AUTH\r\n")
    got = s.recv(4096)
    check(got == b"REJECTED EXTERNAL\r\n", "mechanisms offered: %r" % got)
    s.close()


def t_raw(kind):
    if kind == "garbage":
        raw(b"\0" + b"HELLO THERE\r\n" * 50 + os.urandom(256))
    elif kind == "silent":
        raw(b"")
    elif kind == "bigheader":
        # a header announcing a 4 GiB body
        raw(struct.pack("<cBBBIII", b"l", 1, 0, 1, 0xfffffff0, 1, 0),
            auth=True)
    elif kind == "badmsg":
        # a method call without path and member, with a bogus signature
        fields = struct.pack("<BBBBI", 8, 1, ord("g"), 0, 0)
        raw(struct.pack("<cBBBIII", b"l", 1, 0, 1, 0, 1, len(fields)) +
            fields + b"\0" * 8, auth=True)


def load_dbus():
    """python3-dbus and GLib, which the raw checks do without (each import
    costs seconds in the TCG test VM)"""
    global dbus, GLib
    import dbus
    import dbus.bus
    import dbus.lowlevel
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    DBusGMainLoop(set_as_default=True)


t = sys.argv[2]
args = sys.argv[3:]
if t not in ("raw", "fdcount", "toolong", "mechs"):
    load_dbus()
{"fd": t_fd, "queue": t_queue, "match": t_match, "noc": t_noc,
 "flood": lambda: t_flood(int(args[0])), "errors": t_errors,
 "activate": lambda: t_activate(args[0]), "diecall": t_diecall,
 "start-failing": lambda: t_start_failing(args[0]),
 "noreply": lambda: t_noreply(args[0]), "stuck": lambda: t_stuck(args[0]),
 "conns": lambda: t_conns(int(args[0])), "fdcount": t_fdcount,
 "raw": lambda: t_raw(args[0]), "start": lambda: t_start(args[0]),
 "mechs": t_mechs, "nofd": t_nofd,
 "toolong": lambda: t_toolong(int(args[0]))}[t]()
sys.exit(1 if failed else 0)
