#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A D-Bus service in Debian's python3-dbus, for host/test-dbus.sh.
# svc.py ADDRESS NAME: owns NAME on the bus at ADDRESS (or, with ADDRESS
# "starter", at $DBUS_STARTER_ADDRESS: activation) and serves
# /org/bus1/Test, interface org.bus1.Test:
#   Echo(s) -> s             the argument
#   ReadFd(h) -> s           what the passed fd contains
#   Emit(as)                 one signal Ping(s) per string, in order
#   Big(u)                   one signal Blob(ay) of that many bytes
#   Slow(u) -> s             replies after that many milliseconds
#   Quit()                   exits without replying
#   Whoami() -> s            the name it owns
# Prints "ready" once it owns the name.
import os
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

IFACE = "org.bus1.Test"


class Svc(dbus.service.Object):
    def __init__(self, bus, name):
        super().__init__(bus, "/org/bus1/Test")
        self.name = name

    @dbus.service.method(IFACE, in_signature="s", out_signature="s")
    def Echo(self, s):
        return s

    @dbus.service.method(IFACE, in_signature="h", out_signature="s")
    def ReadFd(self, fd):
        f = os.fdopen(fd.take(), "r")
        data = f.read()
        f.close()
        return data

    @dbus.service.signal(IFACE, signature="s")
    def Ping(self, s):
        pass

    @dbus.service.signal(IFACE, signature="ay")
    def Blob(self, b):
        pass

    @dbus.service.method(IFACE, in_signature="as", out_signature="")
    def Emit(self, strings):
        for s in strings:
            self.Ping(s)

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def Big(self, n):
        self.Blob(dbus.ByteArray(b"x" * n))

    @dbus.service.method(IFACE, in_signature="u", out_signature="s",
                         async_callbacks=("ok", "err"))
    def Slow(self, ms, ok, err):
        GLib.timeout_add(ms, lambda: (ok("slow"), False)[1])

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Quit(self):
        os._exit(0)

    @dbus.service.method(IFACE, in_signature="", out_signature="s")
    def Whoami(self):
        return self.name


def main():
    addr, name = sys.argv[1], sys.argv[2]
    DBusGMainLoop(set_as_default=True)
    if addr == "starter":
        addr = os.environ["DBUS_STARTER_ADDRESS"]
    bus = dbus.bus.BusConnection(addr)
    bn = dbus.service.BusName(name, bus, do_not_queue=True)
    svc = Svc(bus, name)
    print("ready", flush=True)
    bus.call_on_disconnection(lambda c: os._exit(0))
    GLib.MainLoop().run()
    del bn, svc


main()
