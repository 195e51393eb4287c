#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A D-Bus service in GLib's GDBus (python3-gi), for test-dbus-native: a
# second D-Bus implementation beside svc.py's libdbus.
# gsvc.py ADDRESS NAME: owns NAME on the bus at ADDRESS and serves
# /org/bus1/Test, interface org.bus1.Test:
#   Echo(s) -> s             the argument
# Prints "ready" once it owns the name; exits when the bus closes.
import sys

from gi.repository import Gio, GLib

XML = """<node><interface name='org.bus1.Test'>
<method name='Echo'><arg type='s' direction='in'/>
<arg type='s' direction='out'/></method>
</interface></node>"""


def on_call(conn, sender, path, iface, method, params, invocation):
    invocation.return_value(GLib.Variant("(s)", params.unpack()))


def main():
    addr, name = sys.argv[1], sys.argv[2]
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
             Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    conn = Gio.DBusConnection.new_for_address_sync(addr, flags, None, None)
    iface = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
    conn.register_object("/org/bus1/Test", iface, on_call, None, None)
    # DO_NOT_QUEUE (4); 1 is PRIMARY_OWNER
    r = conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                       "org.freedesktop.DBus", "RequestName",
                       GLib.Variant("(su)", (name, 4)),
                       GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE,
                       -1, None)
    if r.unpack()[0] != 1:
        sys.exit("gsvc.py: RequestName(%s) gave %d" % (name, r.unpack()[0]))
    print("ready", flush=True)
    loop = GLib.MainLoop()
    # as svc.py: gone with the bus (a test's broker that dies)
    conn.connect("closed", lambda *args: loop.quit())
    loop.run()


if __name__ == "__main__":
    main()
