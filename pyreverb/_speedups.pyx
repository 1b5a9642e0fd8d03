# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled helpers for the signed-trigger hot path (optional; see ``speedups.py``).

Both functions only ever *accept* the common case and answer ``None``/``False``
for anything else, so the caller falls back to the pure-Python path, which
decides and words every error. They never accept a request the Python path
would refuse:

- :func:`parse_trigger_request` takes one complete, un-pipelined
  ``POST {prefix}/apps/{id}/events`` HTTP/1.1 request in a single buffer with a
  ``Content-Length`` body and plain headers; chunked bodies, ``Expect``,
  ``Upgrade``, ``X-Forwarded-Prefix``, obsolete line folding, non-ASCII bytes
  in the target, or anything else unusual go to httptools as before.
- :func:`signature_ok` checks a Pusher request signature over the path as
  received, for a query of distinct lower-case keys without escapes (what
  every Pusher SDK sends), with OpenSSL's SHA-256 and MD5 and no Python objects
  in between.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcmp, memcpy, memset
from libc.stdlib cimport malloc, free

# OpenSSL's digest primitives, not its EVP one-shots: HMAC() and EVP_Digest() look
# the algorithm up on every call. With them signature_ok took 2.4 us; with a SHA-256
# state keyed once per secret and copied per request, 0.9 us.
cdef extern from "openssl/sha.h":
    ctypedef struct SHA256_CTX:
        pass
    int SHA256_Init(SHA256_CTX *c) nogil
    int SHA256_Update(SHA256_CTX *c, const void *data, size_t n) nogil
    int SHA256_Final(unsigned char *md, SHA256_CTX *c) nogil

cdef extern from "openssl/md5.h":
    unsigned char *MD5(const unsigned char *d, size_t n, unsigned char *md) nogil

cdef extern from "openssl/crypto.h":
    int CRYPTO_memcmp(const void *a, const void *b, size_t len) nogil


cdef class _KeyedSha256:
    """HMAC-SHA256 (RFC 2104) states after the key's inner and outer pad blocks."""

    cdef SHA256_CTX inner
    cdef SHA256_CTX outer

    def __init__(self, bytes secret):
        cdef unsigned char block[64]
        cdef unsigned char ipad[64]
        cdef unsigned char opad[64]
        cdef SHA256_CTX ctx
        cdef Py_ssize_t k, n = PyBytes_GET_SIZE(secret)
        cdef const unsigned char *key = <const unsigned char *>PyBytes_AS_STRING(secret)
        memset(block, 0, 64)
        if n > 64:
            SHA256_Init(&ctx)
            SHA256_Update(&ctx, key, n)
            SHA256_Final(block, &ctx)
        else:
            memcpy(block, key, n)
        for k in range(64):
            ipad[k] = block[k] ^ 0x36
            opad[k] = block[k] ^ 0x5c
        SHA256_Init(&self.inner)
        SHA256_Update(&self.inner, ipad, 64)
        SHA256_Init(&self.outer)
        SHA256_Update(&self.outer, opad, 64)

    cdef void digest(self, const unsigned char *msg, size_t n, unsigned char *out) noexcept nogil:
        cdef SHA256_CTX ctx = self.inner
        cdef unsigned char inner[32]
        SHA256_Update(&ctx, msg, n)
        SHA256_Final(inner, &ctx)
        ctx = self.outer
        SHA256_Update(&ctx, inner, 32)
        SHA256_Final(out, &ctx)


cdef dict _keyed = {}


cdef _KeyedSha256 _keyed_for(bytes secret):
    keyed = _keyed.get(secret)
    if keyed is None:
        if len(_keyed) >= 256:
            _keyed.clear()
        keyed = _keyed[secret] = _KeyedSha256(secret)
    return <_KeyedSha256>keyed


__all__ = ["parse_trigger_request", "signature_ok"]

cdef enum:
    MAX_HEADERS = 64
    MAX_PARAMS = 16

# RFC 9110 token characters (header names)
cdef unsigned char TCHAR[256]
cdef int _c
for _c in range(256):
    TCHAR[_c] = 1 if (48 <= _c <= 57 or 65 <= _c <= 90 or 97 <= _c <= 122
                      or chr(_c) in "!#$%&'*+-.^_`|~") else 0

cdef const char *HEX = b"0123456789abcdef"


cdef inline bint _eq_lower(const unsigned char *s, Py_ssize_t n, const char *lower, Py_ssize_t m) noexcept:
    """``s[:n]`` equals the lower-case ASCII ``lower``, ignoring case."""
    cdef Py_ssize_t k
    cdef unsigned char c
    if n != m:
        return False
    for k in range(n):
        c = s[k]
        if 65 <= c <= 90:
            c += 32
        if c != <unsigned char>lower[k]:
            return False
    return True


def parse_trigger_request(bytes data, bytes prefix, Py_ssize_t max_body):
    """``(app_id, path, query, body, keep_alive)`` when ``data`` is exactly one
    plain trigger request, else ``None`` (the caller parses it the usual way)."""
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef const unsigned char *pre = <const unsigned char *>PyBytes_AS_STRING(prefix)
    cdef Py_ssize_t npre = PyBytes_GET_SIZE(prefix)
    cdef Py_ssize_t i, start, target_end, name_start, name_end, value_start, value_end
    cdef Py_ssize_t path_end, id_start, id_end, headers = 0, connection_headers = 0
    cdef long long content_length = -1
    cdef bint keep_alive = True
    cdef unsigned char c

    if n < 16 or memcmp(p, b"POST ", 5) != 0:
        return None
    # request target: printable ASCII without spaces
    i = 5
    start = i
    while i < n:
        c = p[i]
        if c == 32:
            break
        if c < 33 or c > 126 or c == 92:  # controls, non-ASCII, backslash
            return None
        i += 1
    target_end = i
    if n - i < 11 or memcmp(p + i, b" HTTP/1.1\r\n", 11) != 0:
        return None
    i += 11

    # header fields
    while True:
        if i + 1 >= n:
            return None  # head incomplete
        if p[i] == 13 and p[i + 1] == 10:
            i += 2
            break
        headers += 1
        if headers > MAX_HEADERS:
            return None
        name_start = i
        while i < n and TCHAR[p[i]]:
            i += 1
        if i == name_start or i >= n or p[i] != 58:  # ':' (also rejects folded lines)
            return None
        name_end = i
        i += 1
        while i < n and (p[i] == 32 or p[i] == 9):
            i += 1
        value_start = i
        while i < n and p[i] != 13:
            c = p[i]
            if (c < 32 and c != 9) or c == 127:
                return None
            i += 1
        if i + 1 >= n or p[i + 1] != 10:
            return None
        value_end = i
        while value_end > value_start and (p[value_end - 1] == 32 or p[value_end - 1] == 9):
            value_end -= 1
        i += 2

        if _eq_lower(p + name_start, name_end - name_start, b"content-length", 14):
            if content_length != -1 or value_end == value_start or value_end - value_start > 15:
                return None
            content_length = 0
            while value_start < value_end:
                c = p[value_start]
                if c < 48 or c > 57:
                    return None
                content_length = content_length * 10 + (c - 48)
                value_start += 1
        elif _eq_lower(p + name_start, name_end - name_start, b"connection", 10):
            connection_headers += 1
            if connection_headers > 1:
                return None
            if _eq_lower(p + value_start, value_end - value_start, b"close", 5):
                keep_alive = False
            elif not _eq_lower(p + value_start, value_end - value_start, b"keep-alive", 10):
                return None
        elif (_eq_lower(p + name_start, name_end - name_start, b"transfer-encoding", 17)
              or _eq_lower(p + name_start, name_end - name_start, b"expect", 6)
              or _eq_lower(p + name_start, name_end - name_start, b"upgrade", 7)
              or _eq_lower(p + name_start, name_end - name_start, b"x-forwarded-prefix", 18)):
            return None

    if content_length < 0 or content_length > max_body or n - i != content_length:
        return None  # no length, too large (the usual path answers 413), incomplete or pipelined

    # route: {prefix}/apps/{id}/events[?query]
    path_end = start
    while path_end < target_end and p[path_end] != 63:  # '?'
        path_end += 1
    if path_end - start < npre + 6 + 1 + 7 or memcmp(p + start, pre, npre) != 0:
        return None
    if memcmp(p + start + npre, b"/apps/", 6) != 0:
        return None
    id_start = start + npre + 6
    id_end = id_start
    while id_end < path_end and p[id_end] != 47:  # '/'
        c = p[id_end]
        if c == 37 or c == 35:  # '%', '#'
            return None
        id_end += 1
    if id_end == id_start or path_end - id_end != 7 or memcmp(p + id_end, b"/events", 7) != 0:
        return None
    for i in range(path_end, target_end):
        if p[i] == 35:  # a fragment
            return None
    return (
        PyBytes_FromStringAndSize(<const char *>p + id_start, id_end - id_start).decode("ascii"),
        PyBytes_FromStringAndSize(<const char *>p + start, path_end - start).decode("ascii"),
        PyBytes_FromStringAndSize(<const char *>p + path_end + 1, target_end - path_end - 1)
        if path_end < target_end else b"",
        PyBytes_FromStringAndSize(<const char *>p + n - content_length, content_length),
        keep_alive,
    )


cdef inline void _hex(const unsigned char *digest, int size, char *out) noexcept nogil:
    cdef int k
    for k in range(size):
        out[2 * k] = HEX[digest[k] >> 4]
        out[2 * k + 1] = HEX[digest[k] & 15]


cdef inline bint _is(const unsigned char *s, Py_ssize_t n, const char *word, Py_ssize_t m) noexcept:
    return n == m and memcmp(s, word, m) == 0


def signature_ok(bytes method, str path, bytes query, bytes body, str key, str secret,
                 double now, long tolerance):
    """True when the request is signed by this app for ``path`` as received.

    False means "not shown here", not "refused": the caller then runs the full
    check, which also tries the other paths a client may have signed and says
    what is wrong.
    """
    cdef bytes path_b, key_b, secret_b
    try:
        path_b = path.encode("ascii")
        key_b = key.encode()
        secret_b = secret.encode()
    except UnicodeError:
        return False
    cdef const unsigned char *q = <const unsigned char *>PyBytes_AS_STRING(query)
    cdef Py_ssize_t nq = PyBytes_GET_SIZE(query)
    cdef Py_ssize_t key_start[MAX_PARAMS]
    cdef Py_ssize_t key_len[MAX_PARAMS]
    cdef Py_ssize_t val_start[MAX_PARAMS]
    cdef Py_ssize_t val_len[MAX_PARAMS]
    cdef int order[MAX_PARAMS]
    cdef int count = 0, k, j, t, sig = -1, ak = -1, ats = -1, aver = -1, md5i = -1
    cdef Py_ssize_t i = 0, s, eq
    cdef unsigned char c
    cdef Py_ssize_t pn

    for s in range(PyBytes_GET_SIZE(path_b)):
        c = <unsigned char>PyBytes_AS_STRING(path_b)[s]
        if c == 63 or c == 35 or c == 92 or c < 33:  # Python escapes these before signing
            return False

    # k=v pairs: distinct lower-case keys, no escapes, ASCII only
    while i <= nq:
        s = i
        eq = -1
        while i < nq and q[i] != 38:  # '&'
            c = q[i]
            if c == 37 or c == 43 or c > 126 or c < 33:  # '%', '+', non-ASCII, controls
                return False
            if c == 61 and eq < 0:
                eq = i
            elif eq < 0 and 65 <= c <= 90:
                return False  # upper-case key
            i += 1
        if i > s:
            if count == MAX_PARAMS or eq == s:
                return False
            if eq < 0:
                eq = i
            key_start[count] = s
            key_len[count] = eq - s
            val_start[count] = eq + 1 if eq < i else i
            val_len[count] = i - val_start[count]
            for j in range(count):
                if key_len[j] == key_len[count] and memcmp(q + key_start[j], q + s, key_len[j]) == 0:
                    return False  # a repeated key: the full check decides
            if _is(q + s, eq - s, b"auth_signature", 14):
                sig = count
            elif _is(q + s, eq - s, b"auth_key", 8):
                ak = count
            elif _is(q + s, eq - s, b"auth_timestamp", 14):
                ats = count
            elif _is(q + s, eq - s, b"auth_version", 12):
                aver = count
            elif _is(q + s, eq - s, b"body_md5", 8):
                md5i = count
            count += 1
        i += 1

    if sig < 0 or ak < 0 or ats < 0 or aver < 0:
        return False
    if val_len[sig] != 64 or val_len[ats] == 0 or val_len[ats] > 12:
        return False
    if not _is(q + val_start[ak], val_len[ak], PyBytes_AS_STRING(key_b), PyBytes_GET_SIZE(key_b)):
        return False
    if not _is(q + val_start[aver], val_len[aver], b"1.0", 3):
        return False
    cdef long long timestamp = 0
    for s in range(val_start[ats], val_start[ats] + val_len[ats]):
        c = q[s]
        if c < 48 or c > 57:
            return False
        timestamp = timestamp * 10 + (c - 48)
    if abs(now - <double>timestamp) > tolerance:
        return False

    cdef unsigned char digest[64]
    cdef char hexed[128]
    cdef Py_ssize_t nbody = PyBytes_GET_SIZE(body)
    if nbody:
        if md5i < 0 or val_len[md5i] != 32:
            return False
        MD5(<const unsigned char *>PyBytes_AS_STRING(body), nbody, digest)
        _hex(digest, 16, hexed)
        if CRYPTO_memcmp(hexed, q + val_start[md5i], 32) != 0:
            return False

    # METHOD\npath\nk=v&... with the keys sorted, the signature left out
    for k in range(count):
        order[k] = k
    for k in range(1, count):  # insertion sort: a handful of distinct keys
        t = order[k]
        j = k - 1
        while j >= 0 and _key_after(q, key_start[order[j]], key_len[order[j]], key_start[t], key_len[t]):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = t

    cdef _KeyedSha256 keyed = _keyed_for(secret_b)
    cdef Py_ssize_t nmethod = PyBytes_GET_SIZE(method)
    pn = PyBytes_GET_SIZE(path_b)
    cdef Py_ssize_t total = nmethod + 1 + pn + 1 + nq + 1
    cdef unsigned char *msg = <unsigned char *>malloc(total)
    if msg == NULL:
        raise MemoryError()
    cdef Py_ssize_t at = 0
    cdef bint first = True
    try:
        for s in range(nmethod):
            c = <unsigned char>PyBytes_AS_STRING(method)[s]
            msg[at] = c - 32 if 97 <= c <= 122 else c
            at += 1
        msg[at] = 10
        at += 1
        memcpy(msg + at, PyBytes_AS_STRING(path_b), pn)
        at += pn
        msg[at] = 10
        at += 1
        for k in range(count):
            t = order[k]
            if t == sig:
                continue
            if not first:
                msg[at] = 38
                at += 1
            first = False
            memcpy(msg + at, q + key_start[t], key_len[t])
            at += key_len[t]
            msg[at] = 61
            at += 1
            memcpy(msg + at, q + val_start[t], val_len[t])
            at += val_len[t]
        keyed.digest(msg, at, digest)
    finally:
        free(msg)
    _hex(digest, 32, hexed)
    return CRYPTO_memcmp(hexed, q + val_start[sig], 64) == 0


cdef inline bint _key_after(const unsigned char *q, Py_ssize_t a, Py_ssize_t na, Py_ssize_t b,
                            Py_ssize_t nb) noexcept:
    """Key ``a`` sorts after key ``b`` (byte order; a prefix sorts first)."""
    cdef Py_ssize_t m = na if na < nb else nb
    cdef int r = memcmp(q + a, q + b, m)
    return r > 0 or (r == 0 and na > nb)
