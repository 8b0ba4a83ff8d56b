"""One protocol session over a link: requests with their replies, the board's events on the side.

Used by every host tool (``tinybeat evaluate`` / ``predict`` through
:class:`tinybeat.device.client.Device`, ``tinybeat stream`` through
:mod:`tinybeat.device.board_run`). Events (BEAT, SIGNAL, STATUS frames) go to
``on_event`` as they arrive, in order, with gaps in their sequence numbers
counted in ``lost_events``; bytes outside frames (a banner) collect in ``text``.
"""

from __future__ import annotations

import time
from typing import Callable

from tinybeat.device import protocol
from tinybeat.device.errors import DeviceError
from tinybeat.device.protocol import DeviceInfo, Frame


class Session:
    """Frames over ``link`` (see :mod:`tinybeat.device.link`); ``timeout_s`` is the default reply time-out."""

    def __init__(self, link, on_event: Callable[[Frame], None] | None = None, timeout_s: float = 5.0):
        self.link = link
        self.on_event = on_event
        self.timeout_s = timeout_s
        self.parser = protocol.FrameParser()
        self.seq = 0  # seq 0 restarts the board's sequence
        self.lost_events = 0
        self.text = bytearray()
        self._event_seq: int | None = None

    def _event(self, f: Frame) -> None:
        if self._event_seq is not None and f.seq != self._event_seq:
            self.lost_events += (f.seq - self._event_seq) & 0xFF
        self._event_seq = (f.seq + 1) & 0xFF
        if self.on_event is not None:
            self.on_event(f)

    def pump(self, timeout_s: float) -> list[Frame]:
        """Read for up to timeout_s; pass events on; return the other frames (replies)."""
        data = self.link.read(timeout_s)
        out = []
        for item in self.parser.feed(data):
            if isinstance(item, Frame):
                if protocol.is_event(item.type):
                    self._event(item)
                else:
                    out.append(item)
        if data and not self.parser.busy:
            self.text += bytes(b for b in data if b < 0x80 and b != protocol.PREAMBLE0)
        return out

    def request(self, type_: int, payload: bytes = b"", timeout_s: float | None = None) -> Frame:
        """Send one request and return its reply; DeviceError (one line) on an error reply or time-out."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        seq = self.seq
        self.seq = (seq + 1) & 0xFF
        self.link.write(protocol.encode_frame(type_, seq, payload))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for f in self.pump(0.05):
                if f.seq != seq:
                    continue  # a stale reply
                if f.is_error:
                    raise DeviceError(f"the board replied {protocol.describe_error(f)} to request {type_:#04x}")
                if f.type != protocol.reply_type(type_):
                    raise DeviceError(f"unexpected reply {f.type:#04x} to request {type_:#04x}")
                return f
            if self.link.closed():
                raise DeviceError(f"the board stopped before replying to request {type_:#04x}")
        raise DeviceError(f"no reply to request {type_:#04x} (seq {seq}) within {timeout_s:g} s")

    def info(self) -> DeviceInfo:
        return protocol.decode_info_reply(self.request(protocol.INFO).payload)

    def wait_ready(self, timeout_s: float = 10.0, hint: str = "") -> DeviceInfo:
        """Poll INFO until the board answers (it may be booting or printing its banner)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.seq = 0
            try:
                return protocol.decode_info_reply(self.request(protocol.INFO, timeout_s=1.0).payload)
            except DeviceError:
                if time.monotonic() > deadline or self.link.closed():
                    raise DeviceError(f"no tinybeat firmware answered INFO on {getattr(self.link, 'name', 'the link')} "
                                      f"within {timeout_s:g} s{': ' + hint if hint else ''}") from None


def check_protocol(info: DeviceInfo) -> None:
    """DeviceError unless the board speaks this host's protocol version."""
    if info.proto_version != protocol.PROTO_VERSION:
        raise DeviceError(f"the board speaks protocol {info.proto_version}, this host {protocol.PROTO_VERSION}: "
                          "flash the current firmware")
