/*
 * Private to the Python dump reader/writer: pickle opcode values (from
 * CPython's Lib/pickletools.py) and the limits formats/PYTHON-DUMPS.md
 * documents.
 */
#ifndef TM_PYFORMAT_INTERNAL_H
#define TM_PYFORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum {
    PK_MARK = '(',
    PK_STOP = '.',
    PK_BININT = 'J',
    PK_BININT1 = 'K',
    PK_BININT2 = 'M',
    PK_NONE = 'N',
    PK_REDUCE = 'R',
    PK_BINUNICODE = 'X',
    PK_APPEND = 'a',
    PK_BUILD = 'b',
    PK_GLOBAL = 'c',
    PK_APPENDS = 'e',
    PK_BINGET = 'h',
    PK_LONG_BINGET = 'j',
    PK_BINPUT = 'q',
    PK_LONG_BINPUT = 'r',
    PK_SETITEM = 's',
    PK_TUPLE = 't',
    PK_SETITEMS = 'u',
    PK_EMPTY_TUPLE = ')',
    PK_EMPTY_LIST = ']',
    PK_EMPTY_DICT = '}',
    PK_PROTO = 0x80,
    PK_NEWOBJ = 0x81,
    PK_TUPLE1 = 0x85,
    PK_TUPLE2 = 0x86,
    PK_TUPLE3 = 0x87,
    PK_NEWTRUE = 0x88,
    PK_NEWFALSE = 0x89,
    PK_LONG1 = 0x8a,
    PK_LONG4 = 0x8b,
    PK_SHORT_BINUNICODE = 0x8c,
    PK_BINUNICODE8 = 0x8d,
    PK_STACK_GLOBAL = 0x93,
    PK_MEMOIZE = 0x94,
    PK_FRAME = 0x95
};

/* Nested MARKs open at once; a real dump needs 4. */
#define TM_PICKLE_MAX_MARKS 64u
/* Python's pickler batches APPENDS/SETITEMS by 1000; so does ours. */
#define TM_PICKLE_BATCH 1000u
/* Python's framer starts a new FRAME after 64 KiB. */
#define TM_PICKLE_FRAME_TARGET (64u * 1024u)

/* Name of any pickle opcode ("REDUCE"), or NULL if the byte is not one. */
const char *tm_pickle_opcode_name(unsigned op);

/* Classifies a Python str as pickled (UTF-8, surrogates allowed as Python's
 * 'surrogatepass' does): -1 invalid, 0 valid without surrogates, 1 valid
 * and contains encoded surrogates. */
int tm_pickle_utf8_check(const uint8_t *s, size_t n);

#endif
