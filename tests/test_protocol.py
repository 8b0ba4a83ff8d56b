"""tinybeat.device.protocol: CRC, framing, the parser (round trips, corruption, resync), the
sequence rule, payload codecs, and a byte-for-byte cross-check against lib/tbproto (C)."""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
try:
    from tinybeat.device import protocol as tp
except ImportError:  # not installed (pip install -e .): use the source tree
    sys.path.insert(0, str(ROOT / "python"))
    from tinybeat.device import protocol as tp

ALL_TYPES = [tp.INFO, tp.INFER, tp.STATS, tp.RESET_STATS,
             tp.INFO | tp.REPLY, tp.INFER | tp.REPLY, tp.STATS | tp.REPLY, tp.RESET_STATS | tp.REPLY,
             tp.ERROR,
             tp.STREAM_START, tp.STREAM_STOP, tp.SAMPLES, tp.STREAM_STATS,
             tp.STREAM_START | tp.REPLY, tp.STREAM_STOP | tp.REPLY, tp.SAMPLES | tp.REPLY,
             tp.STREAM_STATS | tp.REPLY, tp.EV_BEAT, tp.EV_SIGNAL, tp.EV_STATUS]


def pattern(size: int, salt: int = 0) -> bytes:
    return bytes((i * 7 + salt) & 0xFF for i in range(size))


def frames_of(out: list) -> list[tp.Frame]:
    return [x for x in out if isinstance(x, tp.Frame)]


def events_of(out: list) -> list[tp.ProtocolEvent]:
    return [x for x in out if isinstance(x, tp.ProtocolEvent)]


# ---- CRC and framing ----------------------------------------------------------------------

def test_crc_check_value():
    assert tp.crc16(b"123456789") == 0x29B1
    assert tp.crc16(b"") == 0xFFFF


def test_crc_table_matches_bitwise_and_continues():
    rng = random.Random(1)
    for _ in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        crc = tp.CRC_INIT
        for b in data:
            crc = tp.crc16_update(crc, b)
        assert tp.crc16(data) == crc
        cut = rng.randrange(len(data) + 1)
        assert tp.crc16(data[cut:], tp.crc16(data[:cut])) == crc


def test_encode_known_bytes():
    assert tp.encode_frame(tp.INFO, 0) == bytes.fromhex("a55a 0001 0000 f0b3")
    assert tp.encode_frame(tp.INFER | tp.REPLY, 7, b"\x01\x02\x03") == bytes.fromhex("a55a 0382 0700 010203 c970")


def test_encode_layout_and_limits():
    payload = pattern(tp.MAX_PAYLOAD)
    frame = tp.encode_frame(0x83, 200, payload, error=tp.E_SEQUENCE)
    assert len(frame) == tp.FRAME_MAX
    assert frame[:6] == bytes((0xA5, 0x5A, 200, 0x83, 200, 4))
    assert frame[6:-2] == payload
    assert frame[-2:] == tp.crc16(frame[2:-2]).to_bytes(2, "little")
    with pytest.raises(ValueError):
        tp.encode_frame(tp.INFER, 0, bytes(tp.MAX_PAYLOAD + 1))
    for ftype, seq, error in ((256, 0, 0), (tp.INFO, -1, 0), (tp.INFO, 0, 300)):
        with pytest.raises(ValueError):
            tp.encode_frame(ftype, seq, error=error)
    assert tp.Frame(tp.INFER, 5, 0, b"ab").encode() == tp.encode_frame(tp.INFER, 5, b"ab")


def test_constants_match_spec():
    assert (tp.PREAMBLE0, tp.PREAMBLE1, tp.MAX_PAYLOAD, tp.HEADER_SIZE, tp.CRC_SIZE) == (0xA5, 0x5A, 200, 6, 2)
    assert tp.FRAME_MAX == 208
    assert [int(t) for t in (tp.FrameType.INFO, tp.FrameType.INFER, tp.FrameType.STATS,
                             tp.FrameType.RESET_STATS, tp.FrameType.ERROR)] == [1, 2, 3, 4, 0x7F]
    assert tp.reply_type(tp.INFER) == tp.FrameType.INFER_REPLY == 0x82
    assert [int(e) for e in tp.ErrorCode] == list(range(10))


# ---- one source of truth: the C headers and this module agree -------------------------------

# C names whose Python twin is spelled differently (the C ones end in _FRAME to stay apart from
# the parser's tbp_event_t values TBP_EV_NONE / TBP_EV_FRAME / ..., which are not frame types).
C_RENAMED = {"EV_BEAT_FRAME": "EV_BEAT", "EV_SIGNAL_FRAME": "EV_SIGNAL", "EV_STATUS_FRAME": "EV_STATUS"}
C_PARSER_EVENTS = {"EV_NONE", "EV_FRAME", "EV_BAD_CRC", "EV_BAD_LENGTH"}  # tbp_event_t: tp.EventKind
C_DEVICE_ONLY = {"SIZE_ANY", "SIZE_OWNER"}  # tbp_check_request's size rules: never on the wire
PY_ONLY = {"PREAMBLE", "SRC_OFF"}  # bytes of both preambles; a stream-stats value set in stream.c


def _c_int(expr: str, known: dict[str, int]) -> int:
    """Value of a C integer constant expression of literals, known names, + and parentheses."""
    text = re.sub(r"\b(0x[0-9A-Fa-f]+|\d+)[uUlL]*\b", r"\1", expr)
    text = re.sub(r"\b(TBP|TB)_(\w+)\b", lambda m: str(known[m.group(2)]), text)
    assert re.fullmatch(r"[0-9A-Fa-fx+() ]+", text), f"not a simple constant: {expr!r}"
    return int(eval(text, {"__builtins__": {}}))  # noqa: S307  (digits, +, parentheses only)


def c_constants(header: Path, prefix: str) -> dict[str, int]:
    """Every `#define PREFIX_NAME value` and `PREFIX_NAME = value` enumerator of a C header, by NAME."""
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    out: dict[str, int] = {}
    for m in re.finditer(r"^#define %s_(\w+)[ \t]+(.+?)\s*$|\b%s_(\w+)\s*=\s*([^,}\n]+)" % (prefix, prefix),
                         text, flags=re.M):
        name, expr = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if name.endswith("_H") or "(" in name:
            continue  # include guard
        out[name] = _c_int(expr, out)
    return out


def test_every_tbproto_constant_equals_python() -> None:
    """tbproto.h <-> tinybeat.device.protocol: every code and size, both ways."""
    c = c_constants(ROOT / "lib" / "tbproto" / "tbproto.h", "TBP")
    assert len(c) > 40 and c["MAX_PAYLOAD"] == 200 and c["FRAME_MAX"] == 208, c
    py_names = {n for n, v in vars(tp).items() if re.fullmatch(r"[A-Z][A-Z0-9_]*", n) and isinstance(v, int)}
    for name, value in c.items():
        if name in C_PARSER_EVENTS or name in C_DEVICE_ONLY or name == "CRC_INIT":
            continue
        py = C_RENAMED.get(name, name)
        assert py in py_names, f"tbproto.h TBP_{name} has no twin in protocol.py"
        assert getattr(tp, py) == value, f"TBP_{name} = {value:#x} in C, {py} = {getattr(tp, py):#x} in Python"
    assert tp.CRC_INIT == c["CRC_INIT"]
    events = re.search(r"typedef enum \{(.*?)\} tbp_event_t;", (ROOT / "lib" / "tbproto" / "tbproto.h").read_text(),
                       flags=re.S)
    order = re.findall(r"\bTBP_(EV_\w+)", re.sub(r"/\*.*?\*/", "", events.group(1)))  # implicit values 0, 1, ...
    assert order[0] == "EV_NONE" and set(order) == C_PARSER_EVENTS
    assert {k.name: int(k) for k in tp.EventKind} == {n[3:]: order.index(n) for n in ("EV_BAD_CRC", "EV_BAD_LENGTH")}
    missing = py_names - PY_ONLY - {C_RENAMED.get(n, n) for n in c}
    assert not missing, f"protocol.py constants missing from tbproto.h: {sorted(missing)}"


def test_engine_status_matches_tb_model_h() -> None:
    """EngineStatus (decoded from E_ENGINE replies) equals tb_status_t in lib/tinybeat/tb_model.h."""
    text = (ROOT / "lib" / "tinybeat" / "tb_model.h").read_text()
    block = re.search(r"typedef enum \{(.*?)\} tb_status_t;", text, flags=re.S)
    assert block, "tb_status_t not found"
    c = {f"TB_{m.group(1)}": int(m.group(2)) for m in re.finditer(r"\bTB_(\w+) = (\d+)", block.group(1))}
    assert c == {s.name: int(s) for s in tp.EngineStatus}
    assert int(re.search(r"#define TB_CLASS_NONE (0x[0-9A-F]+)u", text).group(1), 16) == tp.CLASS_NONE


def test_engine_error_codec_and_message() -> None:
    raw = tp.encode_engine_error_reply(tp.INFER, tp.EngineStatus.TB_ERR_FAMILY)
    assert raw == b"\x02\x03" and len(raw) == tp.ENGINE_ERROR_SIZE
    assert tp.decode_engine_error_reply(raw) == (tp.INFER, 3)
    frame = tp.Frame(tp.ERROR, 4, tp.E_ENGINE, raw)
    assert frame.is_error
    assert tp.describe_error(frame) == ("error 9 (E_ENGINE): the inference engine refused the INFER request "
                                        "with TB_ERR_FAMILY (the firmware's model has an unknown family); no verdict")
    assert tp.describe_error(tp.Frame(tp.ERROR, 0, tp.E_ENGINE, b"\x02")).startswith(
        "error 9 (E_ENGINE): E_ENGINE error reply payload must be 2 bytes")
    assert tp.describe_error(tp.Frame(tp.ERROR, 0, 77, b"\x02")) == "error 77 (unknown 77)"
    with pytest.raises(ValueError):
        tp.encode_engine_error_reply(tp.INFER, 0)  # TB_OK is not an error


# ---- parser ---------------------------------------------------------------------------------

@pytest.mark.parametrize("ftype", ALL_TYPES)
@pytest.mark.parametrize("size", [0, 1, 187, 193, 200])
def test_round_trip(ftype, size):
    payload = pattern(size, ftype)
    seq = (ftype * 31 + size) & 0xFF
    error = tp.E_TYPE if ftype == tp.ERROR else 0
    wire = tp.encode_frame(ftype, seq, payload, error)
    parser = tp.FrameParser()
    outs = [parser.feed_byte(b) for b in wire]
    assert outs[:-1] == [None] * (len(wire) - 1)  # the frame completes on its last byte
    assert outs[-1] == tp.Frame(ftype, seq, error, payload)
    assert not parser.busy
    assert tp.FrameParser().feed(wire) == [tp.Frame(ftype, seq, error, payload)]


def test_busy_tracks_frame():
    wire = tp.encode_frame(tp.STATS, 3, b"abc")
    parser = tp.FrameParser()
    busy = []
    for b in wire:
        parser.feed_byte(b)
        busy.append(parser.busy)
    assert busy == [False] + [True] * (len(wire) - 2) + [False]


@pytest.mark.parametrize("size", [0, 9, 187])
def test_every_single_bit_flip_is_rejected(size):
    wire = tp.encode_frame(tp.INFER | tp.REPLY, 0x42, pattern(size, 0x3C))
    original = tp.Frame(tp.INFER | tp.REPLY, 0x42, 0, pattern(size, 0x3C))
    for i in range(len(wire)):
        for bit in range(8):
            bad = bytearray(wire)
            bad[i] ^= 1 << bit
            parser = tp.FrameParser()
            out = parser.feed(bytes(bad))
            assert frames_of(out) == [], (i, bit)
            assert events_of(out) or parser.busy or i < 2, (i, bit)
            parser.reset()
            assert parser.feed(wire) == [original]


def test_bad_crc_reports_header_and_resyncs():
    wire = bytearray(tp.encode_frame(tp.INFER, 0x99, pattern(9)))
    wire[-1] ^= 1
    parser = tp.FrameParser()
    assert parser.feed(bytes(wire)) == [tp.ProtocolEvent(tp.EventKind.BAD_CRC, type=tp.INFER, seq=0x99, size=9)]
    good = tp.encode_frame(tp.INFER, 0x9A, pattern(9))
    assert parser.feed(good) == [tp.Frame(tp.INFER, 0x9A, 0, pattern(9))]


def test_truncated_then_valid_after_reset():
    wire = tp.encode_frame(tp.INFER, 5, pattern(20, 9))
    for k in range(1, len(wire)):
        parser = tp.FrameParser()
        assert parser.feed(wire[:k]) == []
        assert parser.busy == (k >= 2)
        parser.reset()
        assert not parser.busy
        assert parser.feed(wire) == [tp.Frame(tp.INFER, 5, 0, pattern(20, 9))]


@pytest.mark.parametrize("size", range(tp.MAX_PAYLOAD + 1, 256))
def test_bad_length_then_resync(size):
    parser = tp.FrameParser()
    good = tp.encode_frame(tp.INFER | tp.REPLY, 12, pattern(9, 77))
    # the rest of the bogus frame: a 5A that is no preamble, a plausible header, a stray A5
    out = parser.feed(bytes((0xA5, 0x5A, size, 0x5A, 0x00, 0x01, 0x00, 0x00, 0x11, 0x22, 0xA5)) + good)
    assert out == [tp.ProtocolEvent(tp.EventKind.BAD_LENGTH, size=size),
                   tp.Frame(tp.INFER | tp.REPLY, 12, 0, pattern(9, 77))]


def test_garbage_prefix_doubled_preamble_back_to_back():
    garbage = bytes.fromhex("00ff5aa5005a5aa51337a5ff01025aa5")
    f1 = tp.encode_frame(tp.INFER, 1, pattern(60, 3))
    f2 = tp.encode_frame(tp.INFER, 2, pattern(60, 3))
    expect = [tp.Frame(tp.INFER, 1, 0, pattern(60, 3)), tp.Frame(tp.INFER, 2, 0, pattern(60, 3))]
    assert tp.FrameParser().feed(garbage + f1 + f2) == expect
    for extra in range(1, 4):
        assert tp.FrameParser().feed(b"\xa5" * extra + f1) == expect[:1]
    # split anywhere: chunking does not matter
    parser = tp.FrameParser()
    stream = garbage + f1 + f2
    got = []
    for cut in range(0, len(stream), 7):
        got += parser.feed(stream[cut:cut + 7])
    assert got == expect


def test_random_streams_never_yield_bad_frames():
    """Whatever bytes arrive, every reported frame re-encodes to bytes that were fed."""
    rng = random.Random(2024)
    parser = tp.FrameParser()
    stream = bytearray()
    for _ in range(3000):
        r = rng.random()
        if r < 0.4:
            stream += tp.encode_frame(rng.randrange(256), rng.randrange(256),
                                      bytes(rng.randrange(256) for _ in range(rng.randrange(20))))
        elif r < 0.7:
            stream += bytes(rng.choice((0xA5, 0x5A, rng.randrange(256))) for _ in range(rng.randrange(30)))
        else:
            f = bytearray(tp.encode_frame(rng.randrange(256), 0, bytes(rng.randrange(20))))
            f[rng.randrange(len(f))] ^= 1 << rng.randrange(8)
            stream += f
    out = parser.feed(bytes(stream))
    assert len(frames_of(out)) > 200 and events_of(out)  # no resets: garbage swallows some frames
    for f in frames_of(out):
        assert f.encode() in stream


# ---- sequence rule -------------------------------------------------------------------------

def test_sequence_rule():
    exp = 0
    for seq, accepted in [(0, True), (1, True), (2, True), (2, False), (5, False), (6, True), (0, True)]:
        ok, exp = tp.check_sequence(exp, seq)
        assert ok == accepted, seq
        assert exp == (seq + 1) & 0xFF
    assert tp.check_sequence(200, 0) == (True, 1)
    assert tp.check_sequence(255, 255) == (True, 0)
    assert tp.check_sequence(0, 1) == (False, 2)  # after 255 only 0 is next
    exp, accepted = 0, 0
    for s in range(512):
        ok, exp = tp.check_sequence(exp, s & 0xFF)
        accepted += ok
    assert accepted == 512
    assert tp.next_seq(255) == 0


# ---- payload codecs -------------------------------------------------------------------------

def test_infer_codecs():
    samples = list(range(187))
    payload = tp.encode_infer_request(samples)
    assert payload == bytes(range(187))
    assert tp.decode_infer_request(payload, 187) == payload
    with pytest.raises(tp.PayloadError):
        tp.decode_infer_request(payload, 186)
    with pytest.raises(ValueError):
        tp.encode_infer_request([0, 256])
    with pytest.raises(ValueError):
        tp.encode_infer_request([-1])
    assert len(tp.encode_infer_request([0] * 193)) == 193  # a 193-input model fits one frame
    with pytest.raises(ValueError):
        tp.encode_infer_request([0] * (tp.MAX_PAYLOAD + 1))
    np = pytest.importorskip("numpy")
    assert tp.encode_infer_request(np.arange(187, dtype=np.uint8)) == payload

    res = tp.InferResult(klass=3, score=-123456, cycles=0xDEADBEEF)
    raw = tp.encode_infer_reply(res)
    assert raw == bytes((3,)) + (-123456).to_bytes(4, "little", signed=True) + (0xDEADBEEF).to_bytes(4, "little")
    assert len(raw) == tp.INFER_REPLY_SIZE
    assert tp.decode_infer_reply(raw) == res
    with pytest.raises(tp.PayloadError):
        tp.decode_infer_reply(raw[:-1])


def _info() -> "tp.DeviceInfo":
    return tp.DeviceInfo(proto_version=1, family=2, n_inputs=187, model_flash_bytes=123456,
                         model_ram_bytes=300, firmware_static_ram_bytes=1500, f_cpu_hz=16_000_000,
                         fingerprint=bytes.fromhex("0123456789abcdef"), name="gbt-d3-n20", version="0.1.0")


def test_info_codecs():
    info = _info()
    raw = tp.encode_info_reply(info)
    assert len(raw) == tp.INFO_REPLY_FIXED_SIZE + len("gbt-d3-n20") + len("0.1.0")
    assert raw[:4] == bytes((1, 2, 187, 0))
    assert raw[4:8] == (123456).to_bytes(4, "little")
    assert raw[16:24] == bytes.fromhex("0123456789abcdef")
    assert raw[24] == 10 and raw[25:35] == b"gbt-d3-n20" and raw[35] == 5 and raw[36:] == b"0.1.0"
    back = tp.decode_info_reply(raw)
    assert back == info and back.fingerprint_hex == "0123456789abcdef"
    for bad in (raw[:-1], raw + b"\x00", raw[:20], raw[:24] + b"\x05ab"):
        with pytest.raises(tp.PayloadError):
            tp.decode_info_reply(bad)
    non_ascii = bytearray(raw)
    non_ascii[25] = 0xFF
    with pytest.raises(tp.PayloadError):
        tp.decode_info_reply(bytes(non_ascii))
    with pytest.raises(ValueError):
        tp.encode_info_reply(tp.DeviceInfo(**{**info.__dict__, "fingerprint": b"short"}))


def test_stats_and_error_codecs():
    stats = tp.DeviceStats(count=1000, min_cycles=1, avg_cycles=50_000, max_cycles=0xFFFFFFFF,
                           stack_max_bytes=321, free_ram_min_bytes=4000)
    raw = tp.encode_stats_reply(stats)
    assert len(raw) == tp.STATS_REPLY_SIZE == 20
    assert raw[12:16] == b"\xff\xff\xff\xff" and raw[16:18] == (321).to_bytes(2, "little")
    assert tp.decode_stats_reply(raw) == stats
    with pytest.raises(tp.PayloadError):
        tp.decode_stats_reply(raw + b"\x00")
    assert tp.encode_error_reply(tp.INFER) == b"\x02"
    assert tp.decode_error_reply(b"\x00") == 0
    with pytest.raises(tp.PayloadError):
        tp.decode_error_reply(b"")


def test_fake_device_exchange():
    """Host frames a request, a fake device answers through the codecs, host decodes."""
    device, host = tp.FrameParser(), tp.FrameParser()
    expected_next = 0
    replies = []
    for seq, ftype, payload in [(0, tp.INFO, b""), (1, tp.INFER, bytes(187)), (3, tp.STATS, b"")]:
        (req,) = device.feed(tp.encode_frame(ftype, seq, payload))
        ok, expected_next = tp.check_sequence(expected_next, req.seq)
        if not ok:
            wire = tp.encode_frame(tp.ERROR, req.seq, tp.encode_error_reply(req.type), tp.E_SEQUENCE)
        elif req.type == tp.INFO:
            wire = tp.encode_frame(tp.reply_type(req.type), req.seq, tp.encode_info_reply(_info()))
        else:
            wire = tp.encode_frame(tp.reply_type(req.type), req.seq,
                                   tp.encode_infer_reply(tp.InferResult(1, 42, 9999)))
        replies += host.feed(wire)
    assert tp.decode_info_reply(replies[0].payload) == _info()
    assert tp.decode_infer_reply(replies[1].payload) == tp.InferResult(1, 42, 9999)
    assert replies[2].type == tp.ERROR and replies[2].error == tp.E_SEQUENCE and replies[2].seq == 3
    assert replies[2].is_error and tp.decode_error_reply(replies[2].payload) == tp.STATS


# ---- cross-check against the C library ------------------------------------------------------

DRIVER_C = r"""
/* Line-oriented driver for lib/tbproto (written and compiled by tests/test_protocol.py).
 *   E type seq error HEX   -> the frame tbp_encode writes, as hex ("-" for nothing)
 *   C HEX                  -> tbp_crc16 in decimal
 *   P HEX                  -> one line per event while feeding the persistent parser:
 *                             "F type seq error HEX" | "B type seq size" | "L", then ". busy"
 *   R                      -> tbp_parser_reset, then "."
 *   S expected seq         -> "accepted new_expected"
 * HEX is "-" for no bytes. */
#include <stdio.h>
#include <string.h>
#include "tbproto.h"

static char line[4096];
static uint8_t data[1024];

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (n < cap && nibble(s[0]) >= 0 && nibble(s[1]) >= 0) {
		out[n++] = (uint8_t)(nibble(s[0]) << 4 | nibble(s[1]));
		s += 2;
	}
	return n;
}

static void hex(const uint8_t *d, size_t n)
{
	size_t i;
	if (!n)
		putchar('-');
	for (i = 0; i < n; i++)
		printf("%02x", d[i]);
}

int main(void)
{
	tbp_parser_t p;
	char hexbuf[4096];
	tbp_parser_init(&p);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned a, b, c;
		if (line[0] == 'E' && sscanf(line + 2, "%u %u %u %4095s", &a, &b, &c, hexbuf) == 4) {
			uint8_t out[TBP_FRAME_MAX + 8];
			size_t n = unhex(hexbuf, data, sizeof(data));
			size_t w = n > 255 ? 0 : tbp_encode(out, sizeof(out), (uint8_t)a, (uint8_t)b, (uint8_t)c, data, (uint8_t)n);
			hex(out, w);
			putchar('\n');
		} else if (line[0] == 'C' && sscanf(line + 2, "%4095s", hexbuf) == 1) {
			size_t n = unhex(hexbuf, data, sizeof(data));
			printf("%u\n", (unsigned)tbp_crc16(data, n));
		} else if (line[0] == 'P' && sscanf(line + 2, "%4095s", hexbuf) == 1) {
			size_t n = unhex(hexbuf, data, sizeof(data)), i;
			for (i = 0; i < n; i++) {
				tbp_event_t ev = tbp_parser_feed(&p, data[i]);
				if (ev == TBP_EV_FRAME) {
					printf("F %u %u %u ", p.frame.type, p.frame.seq, p.frame.error);
					hex(p.frame.payload, p.frame.size);
					putchar('\n');
				} else if (ev == TBP_EV_BAD_CRC) {
					printf("B %u %u %u\n", p.frame.type, p.frame.seq, p.frame.size);
				} else if (ev == TBP_EV_BAD_LENGTH) {
					printf("L\n");
				}
			}
			printf(". %u\n", tbp_parser_busy(&p));
		} else if (line[0] == 'R') {
			tbp_parser_reset(&p);
			printf(".\n");
		} else if (line[0] == 'S' && sscanf(line + 2, "%u %u", &a, &b) == 2) {
			uint8_t next = (uint8_t)a;
			uint8_t ok = tbp_check_sequence(&next, (uint8_t)b);
			printf("%u %u\n", ok, next);
		} else {
			printf("?\n");
		}
	}
	return 0;
}
"""


@pytest.fixture(scope="module")
def c_driver(tmp_path_factory):
    """Builds the C driver against lib/tbproto/tbproto.c with the host compiler."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler (gcc)")
    work = tmp_path_factory.mktemp("tbproto_driver")
    src = work / "driver.c"
    src.write_text(DRIVER_C)
    exe = work / "driver"
    lib = ROOT / "lib" / "tbproto"
    subprocess.run([cc, "-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{lib}", str(src),
                    str(lib / "tbproto.c"), "-o", str(exe)], check=True, capture_output=True, text=True)

    def run(commands: list[str]) -> list[str]:
        res = subprocess.run([str(exe)], input="\n".join(commands) + "\n", capture_output=True, text=True,
                             check=True, timeout=60)
        return res.stdout.splitlines()

    return run


def _hex(b: bytes) -> str:
    return b.hex() if b else "-"


def test_c_and_python_encode_identically(c_driver):
    rng = random.Random(7)
    cases = [(t, s, e, pattern(n, t)) for t in ALL_TYPES for n in (0, 1, 9, 20, 187, 193, 200)
             for s, e in ((0, 0), (255, 6))]
    for _ in range(500):
        cases.append((rng.randrange(256), rng.randrange(256), rng.randrange(256),
                      bytes(rng.randrange(256) for _ in range(rng.randrange(tp.MAX_PAYLOAD + 1)))))
    out = c_driver([f"E {t} {s} {e} {_hex(p)}" for t, s, e, p in cases] + ["E 2 0 0 " + "00" * (tp.MAX_PAYLOAD + 1)])
    for (t, s, e, p), line in zip(cases, out):
        assert line == tp.encode_frame(t, s, p, e).hex(), (t, s, e, len(p))
    assert out[-1] == "-"  # MAX_PAYLOAD + 1 bytes: the C encoder refuses, like the Python one raises
    datas = [b"123456789", b""] + [bytes(rng.randrange(256) for _ in range(rng.randrange(300))) for _ in range(300)]
    crcs = c_driver([f"C {_hex(d)}" for d in datas])
    assert crcs[0] == str(0x29B1)
    assert [int(x) for x in crcs] == [tp.crc16(d) for d in datas]


def _py_lines(parser: tp.FrameParser, chunk: bytes) -> list[str]:
    lines = []
    for item in parser.feed(chunk):
        if isinstance(item, tp.Frame):
            lines.append(f"F {item.type} {item.seq} {item.error} {_hex(item.payload)}")
        elif item.kind == tp.EventKind.BAD_CRC:
            lines.append(f"B {item.type} {item.seq} {item.size}")
        else:
            lines.append("L")
    lines.append(f". {int(parser.busy)}")
    return lines


def test_c_and_python_parse_identically(c_driver):
    """Random chunks (frames, mutated frames, garbage) and resets: same events, same busy."""
    rng = random.Random(11)
    commands, chunks = [], []
    for _ in range(1500):
        r = rng.random()
        if r < 0.1:
            commands.append("R")
            chunks.append(None)
            continue
        f = bytearray(tp.encode_frame(rng.randrange(256), rng.randrange(256),
                                      bytes(rng.randrange(256) for _ in range(rng.randrange(40))),
                                      rng.randrange(256)))
        if r < 0.5:  # mutate: flip, insert, delete, truncate, size byte
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(f))
                op = rng.randrange(5)
                if op == 0:
                    f[at] ^= 1 << rng.randrange(8)
                elif op == 1:
                    f.insert(at, rng.choice((0xA5, 0x5A, rng.randrange(256))))
                elif op == 2 and len(f) > 1:
                    del f[at]
                elif op == 3:
                    del f[at:]
                elif len(f) > 2:
                    f[2] = rng.randrange(256)
                if not f:
                    f = bytearray(b"\xa5")
        elif r < 0.7:
            f = bytearray(rng.choice((0xA5, 0x5A, 0xC1, rng.randrange(256))) for _ in range(rng.randrange(1, 60)))
        chunk = bytes(f)
        commands.append(f"P {_hex(chunk)}")
        chunks.append(chunk)
    c_out = c_driver(commands)
    parser = tp.FrameParser()
    py_out: list[str] = []
    for chunk in chunks:
        if chunk is None:
            parser.reset()
            py_out.append(".")
        else:
            py_out += _py_lines(parser, chunk)
    assert c_out == py_out
    kinds = {line[0] for line in c_out}
    assert {"F", "B", "L"} <= kinds


def test_c_and_python_sequence_rule_identical(c_driver):
    pairs = [(e, s) for e in (0, 1, 2, 127, 200, 254, 255) for s in range(256)]
    out = c_driver([f"S {e} {s}" for e, s in pairs])
    for (e, s), line in zip(pairs, out):
        ok, nxt = tp.check_sequence(e, s)
        assert line == f"{int(ok)} {nxt}", (e, s)


# ---- stream mode (protocol version 2) -----------------------------------------------------

def test_stream_codecs_round_trip():
    assert tp.PROTO_VERSION == 2
    assert tp.decode_stream_start(tp.encode_stream_start(tp.SRC_HOST, 3, 360)) == (tp.SRC_HOST, 3, 360)
    assert tp.encode_stream_start(tp.SRC_ADC, 0, 250) == bytes((0, 0, 250, 0))
    values = [0, 1, 1023, 1024, tp.SAMPLE_LEAD_OFF] + list(range(85))
    raw = tp.encode_samples(values)
    assert len(raw) == 2 * tp.SAMPLES_MAX and tp.decode_samples(raw) == values
    assert tp.decode_samples_reply(tp.encode_samples_reply(123456)) == 123456
    st = tp.StreamStats(tp.SRC_ADC, 3, 360, 648000, 0, 2100, 61234, 4, 900, 7, 65535, 2, 300, 63, 255)
    raw = tp.encode_stream_stats(st)
    assert len(raw) == tp.STREAM_STATS_SIZE == 33
    assert raw[23:] == bytes((7, 0, 255, 255, 2, 0, 44, 1, 63, 255))  # the appended counters, little-endian
    assert tp.decode_stream_stats(raw) == st
    beat = tp.BeatEvent(1234567, 300, 310, 305, 708, 0, 1, -5000, 40000, bytes(range(6)), 0xBEEF)
    assert tp.decode_beat(tp.encode_beat(beat)) == beat
    assert len(tp.encode_beat(beat)) == tp.BEAT_SIZE == 30
    ev = tp.SignalEvent(99, 2)
    assert tp.decode_signal(tp.encode_signal(ev)) == ev


@pytest.mark.parametrize("n", [0, tp.SAMPLES_MAX + 1])
def test_samples_count_limits(n):
    with pytest.raises(ValueError):
        tp.encode_samples([0] * n)


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x00" * 3, b"\x00" * (2 * tp.SAMPLES_MAX + 2)])
def test_samples_bad_lengths(payload):
    with pytest.raises(tp.PayloadError):
        tp.decode_samples(payload)


@pytest.mark.parametrize("decode,size", [(tp.decode_stream_start, tp.STREAM_START_SIZE),
                                         (tp.decode_stream_stats, tp.STREAM_STATS_SIZE),
                                         (tp.decode_beat, tp.BEAT_SIZE), (tp.decode_signal, tp.SIGNAL_SIZE),
                                         (tp.decode_samples_reply, tp.SAMPLES_REPLY_SIZE)])
def test_stream_payload_lengths_checked(decode, size):
    for n in (size - 1, size + 1):
        with pytest.raises(tp.PayloadError):
            decode(bytes(n))


def test_events_are_not_replies():
    assert all(tp.is_event(t) for t in (tp.EV_BEAT, tp.EV_SIGNAL, tp.EV_STATUS))
    assert not any(tp.is_event(t) for t in (tp.INFO, tp.STREAM_START, tp.STREAM_START | tp.REPLY, tp.ERROR))


def test_fletcher16_known_values():
    # Fletcher-16 check value of "abcde" is 0xC8F0 and of "abcdef" 0x2057
    assert tp.fletcher16(b"abcde") == 0xC8F0
    assert tp.fletcher16(b"abcdef") == 0x2057
    assert tp.fletcher16(bytes([255] * 193)) == 0
