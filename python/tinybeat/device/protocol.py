"""The tinybeat UART protocol, host side: the Python twin of ``lib/tbproto`` (C).

Frame, both directions::

    byte 0     0xA5          preamble
    byte 1     0x5A          preamble
    byte 2     size          payload length N, 0..MAX_PAYLOAD (200)
    byte 3     type          request type, request | REPLY, or ERROR
    byte 4     seq           sequence number; a reply echoes the request's seq
    byte 5     error         0 in requests; an error code in replies
    byte 6..   payload       N bytes
    then       crc16         CRC-16/CCITT-FALSE over bytes 2 .. 5+N, low byte first

CRC-16/CCITT-FALSE is poly 0x1021, init 0xFFFF, no reflection, xorout 0
(``crc16(b"123456789") == 0x29B1``).  All payload integers are little-endian.

:class:`FrameParser` is the same byte-at-a-time state machine as
``tbp_parser_feed``: garbage before a frame is skipped, ``A5 A5 5A`` still syncs,
and after a bad CRC or a bad length it hunts for the next preamble.  The payload
codecs turn INFER / INFO / STATS payloads into dataclasses and back (the encoders
for replies serve tests and fake devices).

Stream mode (protocol version 2): STREAM_START / STREAM_STOP / SAMPLES /
STREAM_STATS requests, and event frames the device sends on its own while
streaming (BEAT, SIGNAL, STATUS; types 0x40..0x4F, never replies: a host
waiting for a reply skips them, see :func:`is_event`).

Every constant below is written once, with the name ``tbproto.h`` gives it minus
the ``TBP_`` prefix; ``tests/test_protocol.py`` parses ``tbproto.h`` (and the
engine's ``tb_status_t`` in ``tb_model.h``) and checks every code and size.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence, Union

__all__ = [
    "PROTO_VERSION", "PREAMBLE0", "PREAMBLE1", "PREAMBLE", "MAX_PAYLOAD", "HEADER_SIZE", "CRC_SIZE",
    "FRAME_MAX", "CRC_INIT", "INFO", "INFER", "STATS", "RESET_STATS", "REPLY", "ERROR",
    "OK", "E_CRC", "E_LENGTH", "E_TYPE", "E_SEQUENCE", "E_TIMEOUT", "E_PAYLOAD", "E_ENGINE",
    "INFER_REPLY_SIZE", "STATS_REPLY_SIZE", "ERROR_REPLY_SIZE", "ENGINE_ERROR_SIZE", "FINGERPRINT_SIZE",
    "INFO_REPLY_FIXED_SIZE", "INFO_STRING_MAX", "INFO_REPLY_MAX", "FrameType", "ErrorCode", "EventKind", "ProtocolError", "PayloadError",
    "Frame", "ProtocolEvent", "FrameParser", "InferResult", "DeviceInfo", "DeviceStats",
    "crc16", "crc16_update", "encode_frame", "reply_type", "next_seq", "check_sequence",
    "encode_infer_request", "decode_infer_request", "encode_infer_reply", "decode_infer_reply",
    "encode_info_reply", "decode_info_reply", "encode_stats_reply", "decode_stats_reply",
    "encode_error_reply", "decode_error_reply", "EngineStatus", "encode_engine_error_reply",
    "decode_engine_error_reply", "describe_error",
    "STREAM_START", "STREAM_STOP", "SAMPLES", "STREAM_STATS", "EV_BEAT", "EV_SIGNAL", "EV_STATUS",
    "E_ARG", "E_STATE", "SRC_ADC", "SRC_HOST", "SRC_OFF", "SAMPLE_LEAD_OFF", "SAMPLES_MAX", "CLASS_NONE",
    "STREAM_START_SIZE", "SAMPLES_REPLY_SIZE", "STREAM_STATS_SIZE", "BEAT_SIZE", "SIGNAL_SIZE",
    "is_event", "fletcher16", "StreamStats", "BeatEvent", "SignalEvent",
    "encode_stream_start", "decode_stream_start", "encode_samples", "decode_samples",
    "encode_samples_reply", "decode_samples_reply", "encode_stream_stats", "decode_stream_stats",
    "encode_beat", "decode_beat", "encode_signal", "decode_signal",
]

# ---- constants (same names as tbproto.h without the TBP_ prefix) -------------------------

PROTO_VERSION = 2

PREAMBLE0 = 0xA5
PREAMBLE1 = 0x5A
PREAMBLE = bytes((PREAMBLE0, PREAMBLE1))
MAX_PAYLOAD = 200  # one INFER frame carries 193 inputs
HEADER_SIZE = 6  # preamble (2), size, type, seq, error
CRC_SIZE = 2
FRAME_MAX = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
CRC_INIT = 0xFFFF


# frame types: a reply has type request | REPLY; ERROR is the error reply
INFO = 0x01
INFER = 0x02
STATS = 0x03
RESET_STATS = 0x04
STREAM_START = 0x10
STREAM_STOP = 0x11
SAMPLES = 0x12
STREAM_STATS = 0x13
EV_BEAT = 0x41
EV_SIGNAL = 0x42
EV_STATUS = 0x43
REPLY = 0x80
ERROR = 0x7F

# error codes (the error byte of a reply)
OK = 0
E_CRC = 1  # the CRC did not match
E_LENGTH = 2  # size > MAX_PAYLOAD
E_TYPE = 3  # unknown request type
E_SEQUENCE = 4  # seq is not 0 and not previous accepted seq + 1
E_TIMEOUT = 5  # a partial frame was abandoned after an inter-byte gap
E_PAYLOAD = 6  # payload length wrong for the type
E_ARG = 7  # a payload value out of range (stream source, channel, rate)
E_STATE = 8  # not now: SAMPLES while not streaming from the host
E_ENGINE = 9  # the inference engine refused the request: payload {request type, EngineStatus}

SRC_ADC = 0  # stream source: the board's ADC
SRC_HOST = 1  # stream source: SAMPLES frames
SRC_OFF = 0xFF  # stream stats: not streaming
SAMPLE_LEAD_OFF = 0xFFFF  # a SAMPLES value: taken with the leads off
SAMPLES_MAX = 90  # samples per SAMPLES frame
CLASS_NONE = 0xFF  # BEAT class: not classified

INFER_REPLY_SIZE = 9  # class u8, score i32, cycles u32
STATS_REPLY_SIZE = 20  # count, min, avg, max u32; stack_max, free_ram_min u16
ERROR_REPLY_SIZE = 1  # the offending request type, or 0 if unknown
ENGINE_ERROR_SIZE = 2  # E_ENGINE only: request type u8, engine status u8
FINGERPRINT_SIZE = 8
INFO_REPLY_FIXED_SIZE = 26  # INFO reply without the name and version strings
INFO_STRING_MAX = 32  # a device sends at most this many bytes of its name and of its version
INFO_REPLY_MAX = INFO_REPLY_FIXED_SIZE + 2 * INFO_STRING_MAX
STREAM_START_SIZE = 4  # source u8, channel u8, rate_hz u16
SAMPLES_REPLY_SIZE = 4  # samples since STREAM_START u32
STREAM_STATS_SIZE = 33
BEAT_SIZE = 30
SIGNAL_SIZE = 5

_REQUESTS = {"INFO": INFO, "INFER": INFER, "STATS": STATS, "RESET_STATS": RESET_STATS,
             "STREAM_START": STREAM_START, "STREAM_STOP": STREAM_STOP, "SAMPLES": SAMPLES,
             "STREAM_STATS": STREAM_STATS}
FrameType = IntEnum("FrameType", {**_REQUESTS, "EV_BEAT": EV_BEAT, "EV_SIGNAL": EV_SIGNAL, "EV_STATUS": EV_STATUS,
                                  "ERROR": ERROR, **{f"{k}_REPLY": v | REPLY for k, v in _REQUESTS.items()}})
FrameType.__doc__ = "Frame types (the module constants as an enum).  A reply has type ``request | REPLY``."
ErrorCode = IntEnum("ErrorCode", {name: value for name, value in globals().items()
                                  if name == "OK" or (name.startswith("E_") and isinstance(value, int))})
ErrorCode.__doc__ = "The error byte of a reply (the module's OK and E_* constants as an enum)."


class EngineStatus(IntEnum):
    """The engine's ``tb_status_t`` (lib/tinybeat/tb_model.h), carried by E_ENGINE error replies."""

    TB_OK = 0
    TB_ERR_NULL = 1  # a NULL model, input, output or parameter pointer
    TB_ERR_INPUT_LENGTH = 2  # the input length differs from the model's n_inputs
    TB_ERR_FAMILY = 3  # no kernel, or the kernel does not serve the model's family code
    TB_ERR_PARAM = 4  # a family parameter outside its documented range
    TB_ERR_FLASH = 5  # the model's data lies where its kernel cannot read it (past 64 KB on AVR)


_ENGINE_STATUS_TEXT = {
    EngineStatus.TB_ERR_NULL: "a NULL pointer",
    EngineStatus.TB_ERR_INPUT_LENGTH: "the input length is not the model's",
    EngineStatus.TB_ERR_FAMILY: "the firmware's model has an unknown family",
    EngineStatus.TB_ERR_PARAM: "a model parameter is out of range",
    EngineStatus.TB_ERR_FLASH: "the model's data lies past the flash its kernel can read (64 KB): use a "
                               "smaller model or the early-exit tree kernel",
}

_INFER_REPLY = struct.Struct("<BiI")
_STATS_REPLY = struct.Struct("<IIIIHH")
_INFO_FIXED = struct.Struct("<BBHIHHI8s")  # then name_len, name, version_len, version

assert _INFER_REPLY.size == INFER_REPLY_SIZE
assert _STATS_REPLY.size == STATS_REPLY_SIZE
assert _INFO_FIXED.size + 2 == INFO_REPLY_FIXED_SIZE


class ProtocolError(Exception):
    """A frame or payload that breaks the protocol."""


class PayloadError(ProtocolError, ValueError):
    """A payload with the wrong length or contents for its type."""


# ---- CRC, framing, sequence ---------------------------------------------------------------

def crc16_update(crc: int, byte: int) -> int:
    """One byte of CRC-16/CCITT-FALSE (poly 0x1021, MSB first), like ``tbp_crc16_update``."""
    crc ^= (byte & 0xFF) << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
    return crc & 0xFFFF


def _table_entry(b: int) -> int:
    crc = b << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
    return crc & 0xFFFF


_CRC_TABLE = tuple(_table_entry(b) for b in range(256))


def crc16(data: bytes, crc: int = CRC_INIT) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (``crc16(b"123456789") == 0x29B1``).

    ``crc`` continues a running CRC; the default is the standard init 0xFFFF.
    """
    table = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ b) & 0xFF]
    return crc


def _check_u8(name: str, value: int) -> int:
    value = int(value)
    if not 0 <= value <= 0xFF:
        raise ValueError(f"{name} must be 0..255, got {value}")
    return value


def encode_frame(type: int, seq: int, payload: bytes = b"", error: int = 0) -> bytes:  # noqa: A002
    """A whole frame: preamble, header, payload and CRC (low byte first).

    Raises ValueError if a header field is not a byte or the payload is longer
    than ``MAX_PAYLOAD``.
    """
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
    body = bytes((len(payload), _check_u8("type", type), _check_u8("seq", seq),
                  _check_u8("error", error))) + payload
    crc = crc16(body)
    return PREAMBLE + body + bytes((crc & 0xFF, crc >> 8))


def reply_type(request_type: int) -> int:
    """The type of a (non-error) reply to ``request_type``."""
    return _check_u8("request_type", request_type) | REPLY


def next_seq(seq: int) -> int:
    """The sequence number after ``seq`` (mod 256)."""
    return (int(seq) + 1) & 0xFF


def check_sequence(expected_next: int, seq: int) -> tuple[bool, int]:
    """The device's sequence rule, like ``tbp_check_sequence``.

    Returns ``(accepted, new_expected_next)``: seq 0 is always accepted and restarts
    the sequence, any other seq must equal ``expected_next``.  Either way the new
    expected value is ``seq + 1`` (mod 256): a rejected seq resynchronises.
    """
    seq = _check_u8("seq", seq)
    accepted = seq == 0 or seq == (int(expected_next) & 0xFF)
    return accepted, next_seq(seq)


# ---- frames and the parser --------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """A received (or to-be-sent) frame with a good CRC."""

    type: int
    seq: int
    error: int = 0
    payload: bytes = b""

    @property
    def is_reply(self) -> bool:
        """True for replies (``request | REPLY``) and ERROR replies."""
        return bool(self.type & REPLY) or self.type == ERROR

    @property
    def is_error(self) -> bool:
        """True for an ERROR reply or any reply with a non-zero error code."""
        return self.type == ERROR or self.error != OK

    def encode(self) -> bytes:
        """The frame's bytes on the wire."""
        return encode_frame(self.type, self.seq, self.payload, self.error)


class EventKind(IntEnum):
    """What the parser reports besides frames (values match ``tbp_event_t``)."""

    BAD_CRC = 2
    BAD_LENGTH = 3


@dataclass(frozen=True)
class ProtocolEvent:
    """A rejected frame.

    BAD_CRC: ``type``, ``seq`` and ``size`` are the header that was received (a device
    replies with that seq).  BAD_LENGTH: ``size`` is the size byte (> MAX_PAYLOAD);
    type and seq were not received.
    """

    kind: EventKind
    type: int | None = None
    seq: int | None = None
    size: int | None = None


ParserOutput = Union[Frame, ProtocolEvent]

# Parser states, as in tbproto.c.
_HUNT, _PRE1, _SIZE, _TYPE, _SEQ, _ERROR, _PAYLOAD, _CRC_LO, _CRC_HI = range(9)


class FrameParser:
    """Byte-at-a-time frame parser, the same state machine as ``tbp_parser_feed``.

    Feed it whatever arrives; it returns the frames and rejections that completed.
    Call :meth:`reset` after an inter-byte timeout to abandon a partial frame.
    """

    def __init__(self) -> None:
        self._state = _HUNT
        self._size = 0
        self._type = 0
        self._seq = 0
        self._error = 0
        self._payload = bytearray()
        self._crc = CRC_INIT
        self._crc_lo = 0

    def reset(self) -> None:
        """Abandons a partial frame (inter-byte timeout) and hunts for a preamble."""
        self._state = _HUNT
        self._payload = bytearray()

    @property
    def busy(self) -> bool:
        """True once a full preamble has been received until the frame ends."""
        return self._state >= _SIZE

    def feed_byte(self, byte: int) -> ParserOutput | None:
        """Feeds one byte; returns a Frame, a ProtocolEvent or None."""
        state = self._state
        if state == _HUNT:
            if byte == PREAMBLE0:
                self._state = _PRE1
            return None
        if state == _PRE1:
            if byte == PREAMBLE1:
                self._state = _SIZE
            elif byte != PREAMBLE0:  # A5 A5 5A: stay in "seen A5"
                self._state = _HUNT
            return None
        if state == _SIZE:
            if byte > MAX_PAYLOAD:
                self._state = _HUNT
                return ProtocolEvent(EventKind.BAD_LENGTH, size=byte)
            self._size = byte
            self._payload = bytearray()
            self._crc = crc16(bytes((byte,)))
            self._state = _TYPE
            return None
        if state == _CRC_LO:
            self._crc_lo = byte
            self._state = _CRC_HI
            return None
        if state == _CRC_HI:
            self._state = _HUNT
            if (self._crc_lo | (byte << 8)) != self._crc:
                return ProtocolEvent(EventKind.BAD_CRC, type=self._type, seq=self._seq, size=self._size)
            return Frame(self._type, self._seq, self._error, bytes(self._payload))
        # header bytes after size, and the payload: all go into the CRC
        self._crc = ((self._crc << 8) & 0xFFFF) ^ _CRC_TABLE[((self._crc >> 8) ^ byte) & 0xFF]
        if state == _TYPE:
            self._type = byte
            self._state = _SEQ
        elif state == _SEQ:
            self._seq = byte
            self._state = _ERROR
        elif state == _ERROR:
            self._error = byte
            self._state = _PAYLOAD if self._size else _CRC_LO
        else:  # _PAYLOAD
            self._payload.append(byte)
            if len(self._payload) >= self._size:
                self._state = _CRC_LO
        return None

    def feed(self, data: bytes) -> list[ParserOutput]:
        """Feeds bytes; returns the frames and events they completed, in order."""
        out: list[ParserOutput] = []
        for b in bytes(data):
            r = self.feed_byte(b)
            if r is not None:
                out.append(r)
        return out


# ---- payload codecs -----------------------------------------------------------------------

def _expect_len(what: str, payload: bytes, n: int) -> bytes:
    payload = bytes(payload)
    if len(payload) != n:
        raise PayloadError(f"{what} payload must be {n} bytes, got {len(payload)}")
    return payload


def encode_infer_request(samples: Sequence[int]) -> bytes:
    """INFER request payload: one uint8 per input sample (187 for the default model)."""
    values = [int(s) for s in samples]
    if len(values) > MAX_PAYLOAD:
        raise ValueError(f"{len(values)} samples exceed MAX_PAYLOAD ({MAX_PAYLOAD})")
    for v in values:
        if not 0 <= v <= 0xFF:
            raise ValueError(f"samples must be uint8 (0..255), got {v}")
    return bytes(values)


def decode_infer_request(payload: bytes, n_inputs: int | None = None) -> bytes:
    """INFER request payload back to its samples; checks the count if ``n_inputs`` is given."""
    payload = bytes(payload)
    if n_inputs is not None:
        _expect_len("INFER request", payload, n_inputs)
    return payload


@dataclass(frozen=True)
class InferResult:
    """INFER reply: predicted class, integer score and CPU cycles of the inference."""

    klass: int
    score: int
    cycles: int


def encode_infer_reply(result: InferResult) -> bytes:
    """INFER reply payload: class u8, score i32, cycles u32."""
    return _INFER_REPLY.pack(result.klass, result.score, result.cycles)


def decode_infer_reply(payload: bytes) -> InferResult:
    """INFER reply payload (9 bytes) to an :class:`InferResult`."""
    klass, score, cycles = _INFER_REPLY.unpack(_expect_len("INFER reply", payload, INFER_REPLY_SIZE))
    return InferResult(klass, score, cycles)


@dataclass(frozen=True)
class DeviceInfo:
    """INFO reply: what runs on the device."""

    proto_version: int
    family: int
    n_inputs: int
    model_flash_bytes: int
    model_ram_bytes: int
    firmware_static_ram_bytes: int
    f_cpu_hz: int
    fingerprint: bytes  # 8 bytes
    name: str
    version: str

    @property
    def fingerprint_hex(self) -> str:
        """The fingerprint as 16 lowercase hex digits."""
        return self.fingerprint.hex()


def encode_info_reply(info: DeviceInfo) -> bytes:
    """INFO reply payload: the fixed fields, then name and version as length-prefixed ASCII."""
    fingerprint = bytes(info.fingerprint)
    if len(fingerprint) != FINGERPRINT_SIZE:
        raise ValueError(f"fingerprint must be {FINGERPRINT_SIZE} bytes, got {len(fingerprint)}")
    name = info.name.encode("ascii")
    version = info.version.encode("ascii")
    if len(name) > 255 or len(version) > 255:
        raise ValueError("name and version must be at most 255 bytes")
    out = (_INFO_FIXED.pack(info.proto_version, info.family, info.n_inputs, info.model_flash_bytes,
                            info.model_ram_bytes, info.firmware_static_ram_bytes, info.f_cpu_hz,
                            fingerprint)
           + bytes((len(name),)) + name + bytes((len(version),)) + version)
    if len(out) > MAX_PAYLOAD:
        raise ValueError(f"INFO reply of {len(out)} bytes exceeds MAX_PAYLOAD ({MAX_PAYLOAD})")
    return out


def decode_info_reply(payload: bytes) -> DeviceInfo:
    """INFO reply payload to a :class:`DeviceInfo`; the strings must fill it exactly."""
    payload = bytes(payload)
    if len(payload) < INFO_REPLY_FIXED_SIZE:
        raise PayloadError(f"INFO reply payload must be at least {INFO_REPLY_FIXED_SIZE} bytes, "
                           f"got {len(payload)}")
    fixed = _INFO_FIXED.unpack_from(payload)
    pos = _INFO_FIXED.size
    strings = []
    for what in ("name", "version"):
        if pos >= len(payload):
            raise PayloadError(f"INFO reply payload ends before the {what} length")
        n = payload[pos]
        raw = payload[pos + 1:pos + 1 + n]
        if len(raw) != n:
            raise PayloadError(f"INFO reply {what} is cut short ({len(raw)} of {n} bytes)")
        try:
            strings.append(raw.decode("ascii"))
        except UnicodeDecodeError as exc:
            raise PayloadError(f"INFO reply {what} is not ASCII") from exc
        pos += 1 + n
    if pos != len(payload):
        raise PayloadError(f"INFO reply payload has {len(payload) - pos} trailing bytes")
    return DeviceInfo(*fixed, name=strings[0], version=strings[1])


@dataclass(frozen=True)
class DeviceStats:
    """STATS reply: inference timing since the last RESET_STATS, and memory high-water marks."""

    count: int
    min_cycles: int
    avg_cycles: int
    max_cycles: int
    stack_max_bytes: int
    free_ram_min_bytes: int


def encode_stats_reply(stats: DeviceStats) -> bytes:
    """STATS reply payload: count, min, avg, max cycles u32; stack_max, free_ram_min u16."""
    return _STATS_REPLY.pack(stats.count, stats.min_cycles, stats.avg_cycles, stats.max_cycles,
                             stats.stack_max_bytes, stats.free_ram_min_bytes)


def decode_stats_reply(payload: bytes) -> DeviceStats:
    """STATS reply payload to a :class:`DeviceStats`."""
    return DeviceStats(*_STATS_REPLY.unpack(_expect_len("STATS reply", payload, STATS_REPLY_SIZE)))


def encode_error_reply(request_type: int) -> bytes:
    """ERROR reply payload: the offending request type, or 0 if unknown."""
    return bytes((_check_u8("request_type", request_type),))


def decode_error_reply(payload: bytes) -> int:
    """ERROR reply payload to the offending request type (0 if unknown)."""
    return _expect_len("ERROR reply", payload, ERROR_REPLY_SIZE)[0]


def encode_engine_error_reply(request_type: int, status: int) -> bytes:
    """E_ENGINE error reply payload: the request type, then the engine's status (not TB_OK)."""
    if not 1 <= int(status) <= 0xFF:
        raise ValueError(f"engine status must be 1..255, got {status}")
    return bytes((_check_u8("request_type", request_type), int(status)))


def decode_engine_error_reply(payload: bytes) -> tuple[int, int]:
    """E_ENGINE error reply payload to (request type, engine status)."""
    raw = _expect_len("E_ENGINE error reply", payload, ENGINE_ERROR_SIZE)
    return raw[0], raw[1]


def _name(enum: type[IntEnum], value: int) -> str:
    return enum(value).name if value in enum._value2member_map_ else f"unknown {value}"


def describe_error(frame: Frame) -> str:
    """One line for an error reply: the code by name and, for E_ENGINE, the engine's status."""
    text = f"error {frame.error} ({_name(ErrorCode, frame.error)})"
    if frame.type == ERROR and frame.error == E_ENGINE:
        try:
            request, status = decode_engine_error_reply(frame.payload)
        except PayloadError as exc:
            return f"{text}: {exc}"
        why = _ENGINE_STATUS_TEXT.get(status, "an engine status this host does not know")
        return (f"{text}: the inference engine refused the {_name(FrameType, request)} request with "
                f"{_name(EngineStatus, status)} ({why}); no verdict")
    return text


# ---- stream mode ------------------------------------------------------------------------

_STREAM_START = struct.Struct("<BBH")
_STREAM_STATS = struct.Struct("<BBHIIIIBHHHHHBB")
_BEAT = struct.Struct("<IHHHHBBiI6sH")
_SIGNAL = struct.Struct("<IB")
assert _STREAM_START.size == STREAM_START_SIZE
assert _STREAM_STATS.size == STREAM_STATS_SIZE
assert _BEAT.size == BEAT_SIZE
assert _SIGNAL.size == SIGNAL_SIZE


def is_event(frame_type: int) -> bool:
    """True for the device's own stream events (0x40..0x4F): never a reply to a request."""
    return 0x40 <= int(frame_type) <= 0x4F


def fletcher16(data: bytes) -> int:
    """Fletcher-16 (sums mod 255, ``sum2 << 8 | sum1``), as the device computes over a beat's inputs."""
    s1 = s2 = 0
    for b in bytes(data):
        s1 = (s1 + b) % 255
        s2 = (s2 + s1) % 255
    return (s2 << 8) | s1


def encode_stream_start(source: int, channel: int, rate_hz: int) -> bytes:
    """STREAM_START payload: source u8 (SRC_ADC / SRC_HOST), ADC channel u8, rate u16 in Hz."""
    return _STREAM_START.pack(_check_u8("source", source), _check_u8("channel", channel), int(rate_hz))


def decode_stream_start(payload: bytes) -> tuple[int, int, int]:
    """STREAM_START payload to (source, channel, rate_hz)."""
    return _STREAM_START.unpack(_expect_len("STREAM_START", payload, STREAM_START_SIZE))


def encode_samples(samples: Sequence[int]) -> bytes:
    """SAMPLES payload: 1..SAMPLES_MAX uint16 (ADC codes 0..1023, or SAMPLE_LEAD_OFF)."""
    values = [int(v) for v in samples]
    if not 1 <= len(values) <= SAMPLES_MAX:
        raise ValueError(f"a SAMPLES frame carries 1..{SAMPLES_MAX} samples, got {len(values)}")
    if any(not 0 <= v <= 0xFFFF for v in values):
        raise ValueError("samples must be uint16")
    return struct.pack(f"<{len(values)}H", *values)


def decode_samples(payload: bytes) -> list[int]:
    """SAMPLES payload back to its samples (the length must be even and 2..2*SAMPLES_MAX)."""
    payload = bytes(payload)
    if not payload or len(payload) % 2 or len(payload) > 2 * SAMPLES_MAX:
        raise PayloadError(f"SAMPLES payload must be 2..{2 * SAMPLES_MAX} bytes, even; got {len(payload)}")
    return list(struct.unpack(f"<{len(payload) // 2}H", payload))


def encode_samples_reply(total: int) -> bytes:
    """SAMPLES reply payload: samples received since STREAM_START u32."""
    return struct.pack("<I", int(total))


def decode_samples_reply(payload: bytes) -> int:
    """SAMPLES reply payload to the number of samples received since STREAM_START."""
    return struct.unpack("<I", _expect_len("SAMPLES reply", payload, SAMPLES_REPLY_SIZE))[0]


@dataclass(frozen=True)
class StreamStats:
    """STREAM_STOP / STREAM_STATS replies and STATUS events.

    source: SRC_ADC, SRC_HOST or SRC_OFF; signal: tbf_signal_t (0 ok, 1 lead-off,
    2 flat, 3 saturated); missed: sample interrupts lost (ring overflow or a
    conversion not read in time); max_cycles: the most CPU cycles one sample took
    (front end + classifier); ring_max: most samples ever waiting; stack_max_bytes:
    stack high-water (0 in STATUS events, which skip the measurement).
    Since STREAM_START: rx_lost: received bytes lost (receive ring full, USART data
    overrun or framing error); front_dropped: beats the front end dropped when the
    signal was lost (tbf_dropped); engine_errors: beats the engine refused (no
    verdict); tx_waits: times a frame waited for room in the transmit ring. Since
    boot: rx_ring_max / tx_ring_max: most bytes ever waiting in the UART rings.
    All counters saturate (u16: 65535).
    """

    source: int
    signal: int
    rate_hz: int
    samples: int
    missed: int
    beats: int
    max_cycles: int
    ring_max: int
    stack_max_bytes: int
    rx_lost: int = 0
    front_dropped: int = 0
    engine_errors: int = 0
    tx_waits: int = 0
    rx_ring_max: int = 0
    tx_ring_max: int = 0


def encode_stream_stats(st: StreamStats) -> bytes:
    """Stream stats payload (33 bytes)."""
    return _STREAM_STATS.pack(st.source, st.signal, st.rate_hz, st.samples, st.missed, st.beats,
                              st.max_cycles, st.ring_max, st.stack_max_bytes, st.rx_lost, st.front_dropped,
                              st.engine_errors, st.tx_waits, st.rx_ring_max, st.tx_ring_max)


def decode_stream_stats(payload: bytes) -> StreamStats:
    """Stream stats payload (33 bytes) to a :class:`StreamStats`."""
    return StreamStats(*_STREAM_STATS.unpack(_expect_len("stream stats", payload, STREAM_STATS_SIZE)))


@dataclass(frozen=True)
class BeatEvent:
    """BEAT event: one beat the device found (sample indices and RR in input samples).

    klass is 0 normal, 1 abnormal or CLASS_NONE; cycles covers the front end's
    work on the sample that completed the beat plus the classifier; features
    are the inputs x[187..192]; checksum the Fletcher-16 of all 193 inputs.
    """

    r_sample: int
    rr_pre: int
    rr_post: int
    rr_avg: int
    hr_x10: int
    flags: int
    klass: int
    score: int
    cycles: int
    features: bytes
    checksum: int


def encode_beat(b: BeatEvent) -> bytes:
    """BEAT event payload (30 bytes)."""
    return _BEAT.pack(b.r_sample, b.rr_pre, b.rr_post, b.rr_avg, b.hr_x10, b.flags, b.klass, b.score,
                      b.cycles, bytes(b.features), b.checksum)


def decode_beat(payload: bytes) -> BeatEvent:
    """BEAT event payload (30 bytes) to a :class:`BeatEvent`."""
    return BeatEvent(*_BEAT.unpack(_expect_len("BEAT", payload, BEAT_SIZE)))


@dataclass(frozen=True)
class SignalEvent:
    """SIGNAL event: the signal state (0 ok, 1 lead-off, 2 flat, 3 saturated) from sample ``sample`` on."""

    sample: int
    signal: int


def encode_signal(e: SignalEvent) -> bytes:
    """SIGNAL event payload (5 bytes)."""
    return _SIGNAL.pack(e.sample, e.signal)


def decode_signal(payload: bytes) -> SignalEvent:
    """SIGNAL event payload (5 bytes) to a :class:`SignalEvent`."""
    return SignalEvent(*_SIGNAL.unpack(_expect_len("SIGNAL", payload, SIGNAL_SIZE)))
