"""An mDNS stack that is not ours (Debian's python3-zeroconf), for the interop tests.
Run with /usr/bin/python3 inside a network namespace; one JSON object per output line.

  zeroconf-peer.py publish TYPE INSTANCE PORT SERVER [key=value ...]
      Register a service (addresses: this namespace's LAN address), print
      {"registered": name}, withdraw it on SIGTERM.
  zeroconf-peer.py browse TYPE [TYPE ...]
      Print {"event": "up", ...} with what zeroconf resolves for every service it
      sees (server, port, addresses, txt), {"event": "down", "name": ...} when one goes.
"""
import json
import signal
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

lock = threading.Lock()


def emit(obj):
    with lock:
        print(json.dumps(obj), flush=True)


def lan_address():
    # The address multicast leaves by: the namespace's only LAN interface.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("224.0.0.251", 5353))
    address = s.getsockname()[0]
    s.close()
    return address


def wait_for_sigterm():
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()


def publish(type_, instance, port, server, pairs):
    props = dict(pair.split("=", 1) for pair in pairs)
    info = ServiceInfo(type_, f"{instance}.{type_}", port=int(port), properties=props, server=server, parsed_addresses=[lan_address()])
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    zc.register_service(info, allow_name_change=True)
    emit({"registered": info.name})
    wait_for_sigterm()
    zc.unregister_service(info)
    zc.close()


def browse(types):
    zc = Zeroconf(ip_version=IPVersion.V4Only)

    def resolve(type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            emit({"event": "unresolved", "name": name})
            return
        txt = {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}
        emit({"event": "up", "type": type_, "name": name, "server": info.server, "port": info.port,
              "addresses": sorted(info.parsed_addresses()), "txt": txt})

    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            emit({"event": "down", "name": name})
        else:
            # Handlers run on zeroconf's own loop: resolving there would block it.
            threading.Thread(target=resolve, args=(service_type, name), daemon=True).start()

    browsers = [ServiceBrowser(zc, t, handlers=[on_change]) for t in types]
    emit({"browsing": types})
    wait_for_sigterm()
    for b in browsers:
        b.cancel()
    zc.close()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "publish":
        publish(args[0], args[1], args[2], args[3], args[4:])
    elif command == "browse":
        browse(args)
    else:
        sys.exit(f"unknown command {command}")
