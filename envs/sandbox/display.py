"""The sandbox's display: Xvfb on a free display number, and the configuration of its window manager and bus.

Xvfb runs on the host (the studio's screenshots and input talk to it from outside); its socket is the only
way in from the sandbox: the host socket is hard-linked into the sandbox's own ``x11/`` directory, which is
the sandbox's ``/tmp/.X11-unix`` (abstract sockets do not cross the sandbox's network namespace).

openbox runs inside the sandbox with :func:`openbox_rc`: window frames work (move, resize, close,
maximize), no menu opens anywhere, and the only key binding is ctrl+alt+t, which opens the sandbox's
terminal inside. Every normal application window opens maximized, as on a real desktop (dialogs, menus and
tooltips keep their own size), so an app fills its sandbox's screen instead of sitting small in the middle.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from envs import cleanup
from envs.errors import DisplayError
from envs.sandbox.spawn import read_line

FIRST_DISPLAY = 100
LAST_DISPLAY = FIRST_DISPLAY + 400

#: Key bindings of the sandbox's window manager (key in openbox syntax -> what it does, for the README).
KEY_BINDINGS = {"C-A-t": "open a terminal (xterm, inside the sandbox)"}


def _stale_socket(n: int) -> bool:
    """True when ``/tmp/.X11-unix/X<n>`` exists but nobody accepts connections on it."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(0.2)
        s.connect(f"/tmp/.X11-unix/X{n}")
        return False
    except OSError:
        return True
    finally:
        s.close()


def start_xvfb(
    width: int,
    height: int,
    popen: Callable[..., subprocess.Popen[Any]],
    log_tail: Callable[[str], str],
    on_claim: Callable[[int], None],
    forget: Callable[[subprocess.Popen[Any]], None],
) -> tuple[int, subprocess.Popen[Any]]:
    """Start Xvfb on the first free display from :data:`FIRST_DISPLAY`; return (number, process).

    We hold ``/tmp/.X<n>-lock`` ourselves (``O_EXCL``), and ``-displayfd`` says when the server is ready.
    """
    n = FIRST_DISPLAY
    while n < LAST_DISPLAY:
        lock = Path(f"/tmp/.X{n}-lock")
        if Path(f"/tmp/.X11-unix/X{n}").exists() and not lock.exists() and _stale_socket(n):
            cleanup.remove_display_files(n)
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            n += 1
            continue
        os.close(fd)
        on_claim(n)
        r, w = os.pipe()
        argv = ["Xvfb", f":{n}", "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24"]
        xvfb = popen([*argv, "-nolisten", "tcp", "-noreset"], log="xvfb", pass_fds=(w,))
        os.close(w)
        got = read_line(r, timeout=10.0)
        os.close(r)
        if got == str(n):
            lock.write_text(f"{xvfb.pid:>10}\n")
            return n, xvfb
        # Display taken by a server without a lock file (or Xvfb failed): release and try the next one.
        with contextlib.suppress(OSError):
            xvfb.kill()
            xvfb.wait(2)
        forget(xvfb)
        lock.unlink(missing_ok=True)
        tail = log_tail("xvfb")
        if "already active" not in tail and "server already running" not in tail:
            raise DisplayError(f"Xvfb failed on :{n}: {tail}")
        n += 1
    raise DisplayError(f"no free X display between :{FIRST_DISPLAY} and :{LAST_DISPLAY}")


def link_x_socket(display: str, x11_dir: Path) -> None:
    """Make the socket of ``display`` (``:N``) appear as ``X<N>`` in the sandbox's ``/tmp/.X11-unix``."""
    num = display.lstrip(":").split(".")[0]
    src = Path(f"/tmp/.X11-unix/X{num}")
    try:
        os.link(src, x11_dir / f"X{num}")
    except FileExistsError:
        pass
    except OSError as exc:
        raise DisplayError(
            f"cannot give the sandbox the X socket {src} ({exc}); the sandbox root "
            f"({cleanup.sandboxes_root()}, ${cleanup.ROOT_ENV}) must be on the same file system as /tmp/.X11-unix"
        ) from exc


#: The window rule of the sandbox's window manager: every normal window (not dialogs, menus, tooltips) opens
#: maximized and keeps its title bar (close / un-maximize stay where a person expects them).
WINDOW_RULE = '<application class="*" type="normal"><maximized>yes</maximized></application>'


def openbox_rc(terminal: list[str], menu_file: str) -> str:
    """openbox configuration: frame actions only, no menus, ctrl+alt+t runs ``terminal`` (inside), normal
    windows maximized (:data:`WINDOW_RULE`)."""
    command = " ".join(_shell_word(a) for a in terminal)
    frame = "".join(
        f'<context name="{ctx}"><mousebind button="Left" action="Drag"><action name="Resize"/></mousebind>'
        '<mousebind button="Left" action="Press"><action name="Focus"/><action name="Raise"/></mousebind>'
        "</context>"
        for ctx in ("Top", "Bottom", "Left", "Right", "TLCorner", "TRCorner", "BLCorner", "BRCorner")
    )
    focus_raise = '<action name="Focus"/><action name="Raise"/>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<openbox_config xmlns="http://openbox.org/3.4/rc">
  <focus><focusNew>yes</focusNew><followMouse>no</followMouse></focus>
  <placement><policy>Smart</policy><center>yes</center></placement>
  <theme><titleLayout>LMC</titleLayout><keepBorder>yes</keepBorder></theme>
  <desktops><number>1</number><popupTime>0</popupTime></desktops>
  <keyboard>
    <keybind key="C-A-t"><action name="Execute"><command>{escape(command)}</command></action></keybind>
  </keyboard>
  <mouse>
    <dragThreshold>1</dragThreshold><doubleClickTime>500</doubleClickTime>
    <context name="Titlebar">
      <mousebind button="Left" action="Press">{focus_raise}</mousebind>
      <mousebind button="Left" action="Drag"><action name="Move"/></mousebind>
      <mousebind button="Left" action="DoubleClick"><action name="ToggleMaximize"/></mousebind>
    </context>
    {frame}
    <context name="Client">
      <mousebind button="Left" action="Press">{focus_raise}</mousebind>
      <mousebind button="Middle" action="Press">{focus_raise}</mousebind>
      <mousebind button="Right" action="Press">{focus_raise}</mousebind>
    </context>
    <context name="Close"><mousebind button="Left" action="Click"><action name="Close"/></mousebind></context>
    <context name="Maximize">
      <mousebind button="Left" action="Click"><action name="ToggleMaximize"/></mousebind>
    </context>
    <context name="Root"/>
  </mouse>
  <menu><file>{escape(menu_file)}</file><hideDelay>0</hideDelay></menu>
  <applications>{WINDOW_RULE}</applications>
</openbox_config>
"""


OPENBOX_MENU = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<openbox_menu xmlns="http://openbox.org/3.4/menu">\n'
    '  <menu id="root-menu" label="Sandbox"/>\n</openbox_menu>\n'
)


def session_bus_conf(listen: str, servicedir: str) -> str:
    """A session-bus config whose only activatable services are the AT-SPI bus and dconf.

    The stock config would also activate the xdg portals (the document portal mounts a FUSE file system
    into the runtime dir) and anything else installed system-wide.
    """
    return (
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        "<busconfig>\n  <type>session</type>\n  <keep_umask/>\n"
        f"  <listen>{escape(listen)}</listen>\n  <auth>EXTERNAL</auth>\n"
        f"  <servicedir>{escape(servicedir)}</servicedir>\n"
        '  <policy context="default">\n    <allow send_destination="*" eavesdrop="true"/>\n'
        '    <allow eavesdrop="true"/>\n    <allow own="*"/>\n  </policy>\n'
        '  <limit name="service_start_timeout">30000</limit>\n'
        "</busconfig>\n"
    )


def _shell_word(word: str) -> str:
    import shlex

    return shlex.quote(word)
