/* The generic extractor's tree walk in C, over the lexbor tree that selectolax built.
 *
 * Why: the Python walk pays 40-140 ns for every node read through selectolax (a new wrapper object
 * per child, parent or attribute), which kept extraction at ~9x trafilatura's speed on English pages
 * where the target is 20x (bench/extraction.py). Here the same walk reads lexbor's structs directly.
 *
 * Nothing of lexbor is linked: selectolax keeps its lexbor symbols private. Only struct fields are
 * read, so the layouts below are copied from the lexbor that selectolax 1.0.2 bundles (pinned in
 * pyproject.toml), and scraper/extract/native.py checks them against selectolax's own view of a
 * test page at import; on any mismatch the pure-Python walk (generic.py) is used instead.
 *
 * Node ids are selectolax's ``mem_id`` (the node's address). The caller keeps the parser alive while
 * it uses them. Junk subtrees are unlinked the way lexbor's lxb_dom_node_remove_wo_events does; their
 * memory belongs to the document's arenas and is freed with the document.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- lexbor layouts (lexbor/dom/interfaces/{node,element,attr,character_data}.h, core/{str,hash}.h) */
typedef struct lxb_node lxb_node;
typedef struct {
    unsigned char *data;
    size_t length;
} lexbor_str;
struct lxb_node {
    void *events;
    uintptr_t local_name;
    uintptr_t prefix;
    uintptr_t ns;
    void *owner_document;
    lxb_node *next;
    lxb_node *prev;
    lxb_node *parent;
    lxb_node *first_child;
    lxb_node *last_child;
    void *user;
    int type; /* lxb_dom_node_type_t */
};
typedef struct lxb_attr lxb_attr;
typedef struct {
    lxb_node node;
    uintptr_t upper_name;
    uintptr_t qualified_name;
    lexbor_str *is_value;
    lxb_attr *first_attr;
    lxb_attr *last_attr;
    lxb_attr *attr_id;
    lxb_attr *attr_class;
} lxb_element;
struct lxb_attr {
    lxb_node node;
    uintptr_t upper_name;
    uintptr_t qualified_name;
    lexbor_str *value;
    lxb_element *owner;
    lxb_attr *next;
    lxb_attr *prev;
};
typedef struct {
    lxb_node node;
    lexbor_str data;
} lxb_character_data;
#define HASH_SHORT_SIZE 16
typedef struct {
    union {
        unsigned char *long_str;
        unsigned char short_str[HASH_SHORT_SIZE + 1];
    } u;
    size_t length;
} lexbor_hash_entry; /* the head of lxb_dom_attr_data_t for names outside lexbor's fixed table */

enum { NODE_ELEMENT = 1, NODE_TEXT = 3 };
enum { TAG_TEXT = 2, TAG_COMMENT = 4, TAG_LIMIT = 256 }; /* fixed tag ids are < 0xc7; others are pointers */
enum { ATTR_CLASS = 0x0b, ATTR_ID = 0x21, ATTR_STYLE = 0x3e, ATTR_FIXED_LIMIT = 0x49 };

/* ---- configuration from generic.py (one source of truth for tag sets) */
static unsigned char junk_tags[TAG_LIMIT], mixed_tags[TAG_LIMIT], inline_tags[TAG_LIMIT], has_blockers[TAG_LIMIT];
static unsigned char textual_tags[TAG_LIMIT], keep_tags[TAG_LIMIT]; /* generic._TEXTUAL, boilerplate._KEEP_IDS */
static long textual_bits, teaser_bits;
static uintptr_t tag_ins;
static long tag_bits[TAG_LIMIT], blockers[TAG_LIMIT];
static uintptr_t tag_a, tag_br;
static int configured;

#define IN(table, tag) ((tag) < TAG_LIMIT && (table)[(tag)])

/* str.isspace() of one character, inline: Py_UNICODE_ISSPACE calls into CPython for every non-ASCII character
 * (every Arabic letter). configure() checks it against CPython over all code points. */
static inline int is_space(Py_UCS4 c) {
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
    if (c < 0x1680) return c == 0x85 || c == 0xa0;
    return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

static inline int popcount16(unsigned x) { /* no popcnt instruction assumed: libgcc's call cost more */
    x = x - ((x >> 1) & 0x5555);
    x = (x & 0x3333) + ((x >> 2) & 0x3333);
    x = (x + (x >> 4)) & 0x0F0F;
    return (int)((x + (x >> 8)) & 0x1F);
}

#ifdef __SSE2__
/* For a 16-byte block of ASCII: the bits of its whitespace bytes (is_space's ASCII part: 9-13 and 28-32). */
static inline unsigned ascii_space_bits(__m128i block) {
    const __m128i four = _mm_set1_epi8(4);
    __m128i tab_to_cr = _mm_sub_epi8(block, _mm_set1_epi8(9)), fs_to_space = _mm_sub_epi8(block, _mm_set1_epi8(28));
    __m128i in_first = _mm_cmpeq_epi8(_mm_min_epu8(tab_to_cr, four), tab_to_cr); /* 9 <= byte <= 13 */
    __m128i in_second = _mm_cmpeq_epi8(_mm_min_epu8(fs_to_space, four), fs_to_space); /* 28 <= byte <= 32 */
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(in_first, in_second));
}
#endif

/* ---- a growable byte buffer for text */
typedef struct {
    char *data;
    size_t length, capacity;
} buffer;

static int buffer_add(buffer *buf, const void *data, size_t length) {
    if (buf->length + length > buf->capacity) {
        size_t capacity = buf->capacity ? buf->capacity : 4096;
        while (capacity < buf->length + length) capacity *= 2;
        char *grown = PyMem_Realloc(buf->data, capacity);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        buf->data = grown;
        buf->capacity = capacity;
    }
    if (length) memcpy(buf->data + buf->length, data, length);
    buf->length += length;
    return 0;
}

/* ---- UTF-8 (what lexbor stores), read as Python's strict decoder reads it */
static Py_ssize_t count_lt(const unsigned char *p, const unsigned char *end) {
    Py_ssize_t count = 0;
    for (; p < end; p++) count += *p == '<';
    return count;
}

static int continuation(const unsigned char *p, int count) {
    for (int i = 0; i < count; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return 1;
}

/* Length of the valid UTF-8 sequence at p (first byte >= 0x80), or 0. */
static int sequence_length(const unsigned char *p, const unsigned char *end) {
    unsigned char lead = p[0];
    Py_ssize_t left = end - p;
    if (lead >= 0xC2 && lead <= 0xDF) return left >= 2 && continuation(p + 1, 1) ? 2 : 0;
    if (lead >= 0xE0 && lead <= 0xEF) {
        if (left < 3 || !continuation(p + 1, 2)) return 0;
        if ((lead == 0xE0 && p[1] < 0xA0) || (lead == 0xED && p[1] > 0x9F)) return 0; /* overlong, surrogate */
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        if (left < 4 || !continuation(p + 1, 3)) return 0;
        if ((lead == 0xF0 && p[1] < 0x90) || (lead == 0xF4 && p[1] > 0x8F)) return 0; /* overlong, > U+10FFFF */
        return 4;
    }
    return 0;
}

/* The code point at *p, advancing *p past it; 0 when the bytes there are not valid UTF-8. */
static inline int next_code_point(const unsigned char **p, const unsigned char *end, Py_UCS4 *out) {
    const unsigned char *q = *p;
    Py_UCS4 c = *q;
    if (c < 0x80) {
        *p = q + 1;
        *out = c;
        return 1;
    }
    int bytes = sequence_length(q, end);
    if (!bytes) return 0;
    *out = bytes == 2 ? (c & 0x1F) << 6 | (q[1] & 0x3F)
           : bytes == 3 ? (c & 0x0F) << 12 | (q[1] & 0x3F) << 6 | (q[2] & 0x3F)
                        : (c & 0x07) << 18 | (q[1] & 0x3F) << 12 | (q[2] & 0x3F) << 6 | (q[3] & 0x3F);
    *p = q + bytes;
    return 1;
}

/* len(text.strip()) of the text these UTF-8 bytes decode to, without decoding them; -1 when they are not
 * valid UTF-8 (the caller decodes then, with "replace", as selectolax does). */
static Py_ssize_t utf8_stripped_length(const unsigned char *p, const unsigned char *end) {
    Py_ssize_t chars = 0, kept = 0; /* kept: characters up to the last non-space one */
    Py_UCS4 c;
    while (p < end) {
#ifdef __SSE2__
        if (end - p >= 16) { /* 16 ASCII bytes at once: 16 characters, the spaces from a mask */
            __m128i block = _mm_loadu_si128((const __m128i *)p);
            if (!_mm_movemask_epi8(block)) {
                unsigned visible = ~ascii_space_bits(block) & 0xFFFF; /* the non-space characters */
                p += 16;
                if (!chars) { /* still in the leading spaces */
                    if (!visible) continue;
                    int first = __builtin_ctz(visible);
                    chars = 16 - first;
                    kept = (31 - __builtin_clz(visible)) - first + 1;
                    continue;
                }
                if (visible) kept = chars + (31 - __builtin_clz(visible)) + 1;
                chars += 16;
                continue;
            }
        }
#endif
        if (!next_code_point(&p, end, &c)) return -1;
        int space = is_space(c);
        if (!chars && space) continue;
        chars++;
        if (!space) kept = chars;
    }
    return kept;
}

/* The node after ``node`` in a depth-first walk of root's subtree (root excluded), or NULL at its end. */
static inline lxb_node *preorder_next(lxb_node *node, const lxb_node *root) {
    if (node->first_child != NULL) return node->first_child;
    while (node != root && node->next == NULL) node = node->parent;
    return node == root ? NULL : node->next;
}

static const char PARA_BREAK_UTF8[] = "\xe2\x80\xa9"; /* U+2029, generic.PARA_BREAK */

/* Text of the subtree below ``root`` (not root itself), as selectolax's text(deep=True) gathers it
 * (lxb_dom_node_simple_walk over text nodes); with ``br_breaks`` a paragraph break before each <br>. */
static int gather_text(lxb_node *root, buffer *buf, int br_breaks) {
    lxb_node *node = root->first_child;
    while (node != NULL) {
        if (node->local_name == TAG_TEXT) {
            lexbor_str *str = &((lxb_character_data *)node)->data;
            if (str->data != NULL && buffer_add(buf, str->data, str->length) < 0) return -1;
        } else if (br_breaks && node->local_name == tag_br && node->type == NODE_ELEMENT) {
            if (buffer_add(buf, PARA_BREAK_UTF8, 3) < 0) return -1;
        }
        node = preorder_next(node, root);
    }
    return 0;
}

static PyObject *decode(const buffer *buf) {
    return PyUnicode_DecodeUTF8(buf->data ? buf->data : "", (Py_ssize_t)buf->length, "replace");
}

/* One buffer for all text reads: every call runs under the GIL and finishes with it, so none overlap
 * (between filling it and decoding it nothing allocates a GC-tracked object, so no finalizer can run
 * Python code, or let another thread in, in between).
 * It is kept between calls (a malloc per read cost more than the read) and shrunk when a huge
 * page left it large. */
static buffer shared_buffer;
enum { SHARED_KEEP = 1 << 20 };

static void shared_release(void) {
    shared_buffer.length = 0;
    if (shared_buffer.capacity > SHARED_KEEP) {
        PyMem_Free(shared_buffer.data);
        shared_buffer.data = NULL;
        shared_buffer.capacity = 0;
    }
}

static PyObject *subtree_text(lxb_node *root, int br_breaks) {
    shared_buffer.length = 0;
    PyObject *out = gather_text(root, &shared_buffer, br_breaks) < 0 ? NULL : decode(&shared_buffer);
    shared_release();
    return out;
}

/* len(s.strip()) for a str, with str.strip()'s idea of whitespace. */
static Py_ssize_t stripped_length(PyObject *text) {
    Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    while (start < end && is_space(PyUnicode_READ(kind, data, start))) start++;
    while (end > start && is_space(PyUnicode_READ(kind, data, end - 1))) end--;
    return end - start;
}

/* len(text(deep=True).strip()) of an element: link text length. -1 on error. */
static Py_ssize_t link_length(lxb_node *node) {
    shared_buffer.length = 0;
    if (gather_text(node, &shared_buffer, 0) < 0) return -1;
    const unsigned char *bytes = (const unsigned char *)(shared_buffer.data ? shared_buffer.data : "");
    Py_ssize_t length = utf8_stripped_length(bytes, bytes + shared_buffer.length);
    if (length >= 0) {
        shared_release();
        return length;
    }
    PyObject *text = decode(&shared_buffer);
    shared_release();
    if (text == NULL) return -1;
    length = stripped_length(text);
    Py_DECREF(text);
    return length;
}

/* Sum of len(fragment.strip()) over text nodes: len(text(deep, strip=True)), as selectolax joins
 * stripped fragments with no separator. */
static Py_ssize_t fragments_stripped_length(lxb_node *root, int deep) {
    Py_ssize_t total = 0;
    lxb_node *node = root->first_child;
    while (node != NULL) {
        if (node->local_name == TAG_TEXT) {
            lexbor_str *str = &((lxb_character_data *)node)->data;
            if (str->data != NULL) {
                Py_ssize_t length = utf8_stripped_length(str->data, str->data + str->length);
                if (length < 0) { /* bad UTF-8: what the replacement characters make of it */
                    PyObject *piece = PyUnicode_DecodeUTF8((const char *)str->data, (Py_ssize_t)str->length, "replace");
                    if (piece == NULL) return -1;
                    length = stripped_length(piece);
                    Py_DECREF(piece);
                }
                total += length;
            }
        }
        node = deep ? preorder_next(node, root) : node->next;
    }
    return total;
}

static lxb_node *node_of(PyObject *id) {
    void *pointer = PyLong_AsVoidPtr(id);
    if (pointer == NULL && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "null node id");
    return pointer;
}

static void unlink_node(lxb_node *node) { /* lxb_dom_node_remove_wo_events */
    if (node->parent != NULL) {
        if (node->parent->first_child == node) node->parent->first_child = node->next;
        if (node->parent->last_child == node) node->parent->last_child = node->prev;
    }
    if (node->next != NULL) node->next->prev = node->prev;
    if (node->prev != NULL) node->prev->next = node->next;
    node->parent = node->next = node->prev = NULL;
}

/* ---- the walk */
typedef struct {
    lxb_node **nodes;
    uintptr_t *tags;
    Py_ssize_t *parents, *ends, *links;
    long *below;
    unsigned char *kind; /* 1 text block, 2 mixed-text candidate */
    Py_ssize_t count, capacity;
} arrays;

static void arrays_free(arrays *a) {
    PyMem_Free(a->nodes);
    PyMem_Free(a->tags);
    PyMem_Free(a->parents);
    PyMem_Free(a->ends);
    PyMem_Free(a->links);
    PyMem_Free(a->below);
    PyMem_Free(a->kind);
}

/* Grows one array field of a struct of parallel arrays to ``capacity`` entries; returns -1 on failure. */
#define GROW(owner, field) \
    do { \
        void *grown = PyMem_Realloc((owner)->field, capacity * sizeof(*(owner)->field)); \
        if (grown == NULL) return -1; \
        (owner)->field = grown; \
    } while (0)

static int arrays_grow(arrays *a) {
    Py_ssize_t capacity = a->capacity ? a->capacity * 2 : 1024;
    GROW(a, nodes);
    GROW(a, tags);
    GROW(a, parents);
    GROW(a, ends);
    GROW(a, links);
    GROW(a, below);
    GROW(a, kind);
    a->capacity = capacity;
    return 0;
}

static Py_ssize_t arrays_add(arrays *a, lxb_node *node, Py_ssize_t parent) {
    if (a->count == a->capacity && arrays_grow(a) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t i = a->count++;
    a->nodes[i] = node;
    a->tags[i] = node->local_name;
    a->parents[i] = parent;
    a->ends[i] = i + 1;
    a->links[i] = 0;
    a->below[i] = 0;
    a->kind[i] = 0;
    return i;
}

static long bit_of(uintptr_t tag) { return tag < TAG_LIMIT ? tag_bits[tag] : 0; }

/* A subtree is complete: classify it and fold it into its parent (generic._Page's "else" branch). */
static int close_element(arrays *a, Py_ssize_t i) {
    uintptr_t tag = a->tags[i];
    a->ends[i] = a->count;
    if (tag == tag_a) {
        Py_ssize_t length = link_length(a->nodes[i]);
        if (length < 0) return -1;
        a->links[i] += length;
    } else if (IN(has_blockers, tag) && !(a->below[i] & blockers[tag])) {
        a->kind[i] = 1;
    } else if (IN(mixed_tags, tag)) {
        a->kind[i] = 2;
    }
    Py_ssize_t parent = a->parents[i];
    if (parent >= 0) {
        a->below[parent] |= a->below[i] | bit_of(tag);
        a->links[parent] += a->links[i];
    }
    return 0;
}

typedef struct {
    Py_ssize_t index;
    lxb_node *resume; /* the next sibling to visit once this element's children are done */
} frame;

static int walk_tree(lxb_node *body, arrays *a) {
    frame *stack = NULL;
    Py_ssize_t depth = 0, stack_capacity = 0;
    int status = -1;
    Py_ssize_t open = arrays_add(a, body, -1);
    if (open < 0) return -1;
    lxb_node *node = body->first_child;
    for (;;) {
        while (node != NULL) {
            lxb_node *next = node->next;
            if (node->type == NODE_TEXT) {
                node = next;
                continue;
            }
            if (IN(junk_tags, node->local_name)) {
                unlink_node(node);
                node = next;
                continue;
            }
            Py_ssize_t i = arrays_add(a, node, open);
            if (i < 0) goto done;
            if (node->first_child == NULL) {
                if (close_element(a, i) < 0) goto done;
                node = next;
                continue;
            }
            if (depth == stack_capacity) {
                stack_capacity = stack_capacity ? stack_capacity * 2 : 64;
                frame *grown = PyMem_Realloc(stack, stack_capacity * sizeof(frame));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                stack = grown;
            }
            stack[depth].index = open;
            stack[depth].resume = next;
            depth++;
            open = i;
            node = node->first_child;
        }
        if (close_element(a, open) < 0) goto done;
        if (depth == 0) break;
        depth--;
        open = stack[depth].index;
        node = stack[depth].resume;
    }
    status = 0;
done:
    PyMem_Free(stack);
    return status;
}

static PyObject *list_of_ssize(const Py_ssize_t *values, Py_ssize_t count) {
    PyObject *list = PyList_New(count);
    if (list == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyLong_FromSsize_t(values[i]);
        if (item == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* " ".join(text.split()), the same object when it is already so. Two passes: the first finds the result's
 * length and largest character (a str must be stored in the smallest kind that holds it), the second
 * writes it. Each is written out per kind of str (PyUnicode_READ would switch on the kind per character). */
#define NORMALISE_MEASURE(TYPE, FROM)                                                                             \
    for (const TYPE *at = (const TYPE *)data + (FROM), *end = (const TYPE *)data + length; at < end; at++) {    \
        Py_UCS4 c = *at;                                                                                          \
        if (is_space(c)) {                                                                                        \
            normal &= c == ' ' && !space;                                                                         \
            space = 1;                                                                                            \
            continue;                                                                                             \
        }                                                                                                         \
        words += space;                                                                                           \
        space = 0;                                                                                                \
        out++;                                                                                                    \
        if (c > largest) largest = c;                                                                             \
    }
#define NORMALISE_WRITE(TYPE)                                                                                     \
    for (const TYPE *at = data, *end = at + length; at < end; at++) {                                           \
        Py_UCS4 c = *at;                                                                                          \
        if (is_space(c)) {                                                                                        \
            space = 1;                                                                                            \
            continue;                                                                                             \
        }                                                                                                         \
        if (space && written) PyUnicode_WRITE(result_kind, result_data, written++, ' ');                         \
        space = 0;                                                                                                \
        PyUnicode_WRITE(result_kind, result_data, written++, c);                                                  \
    }

/* normalise's first pass over the leading 16-byte blocks of ASCII of a one-byte str, with SSE2 masks (a line
 * of English text is mostly such blocks); returns how many characters it took. The largest character is the
 * scalar loop's to find: ASCII ones do not change the kind of the result. */
static Py_ssize_t ascii_measure(const void *data, Py_ssize_t length, Py_ssize_t *out, Py_ssize_t *words, int *normal,
                                int *space) {
    Py_ssize_t at = 0;
#ifdef __SSE2__
    const Py_UCS1 *chars = data;
    const __m128i blank = _mm_set1_epi8(' ');
    for (; length - at >= 16; at += 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)(chars + at));
        if (_mm_movemask_epi8(block)) break; /* a character past ASCII: the scalar loop goes on from here */
        unsigned spaces = ascii_space_bits(block), letters = ~spaces & 0xFFFF;
        unsigned after_space = ((spaces << 1) | (unsigned)*space) & 0xFFFF;
        unsigned blanks = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, blank));
        if ((spaces & ~blanks) || (spaces & after_space)) *normal = 0; /* not " ", or a second separator */
        *words += popcount16(letters & after_space);
        *out += popcount16(letters);
        *space = (int)(spaces >> 15);
    }
#else
    (void)data; (void)length; (void)out; (void)words; (void)normal; (void)space;
#endif
    return at;
}

static PyObject *normalise(PyObject *text) {
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), out = 0, words = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int normal = 1, space = 1; /* space: the last character was a separator (or nothing yet) */
    Py_UCS4 largest = 0;
    if (kind == PyUnicode_1BYTE_KIND) {
        Py_ssize_t ascii = ascii_measure(data, length, &out, &words, &normal, &space);
        NORMALISE_MEASURE(Py_UCS1, ascii)
    } else if (kind == PyUnicode_2BYTE_KIND) NORMALISE_MEASURE(Py_UCS2, 0)
    else NORMALISE_MEASURE(Py_UCS4, 0)
    if (normal && (length == 0 || !space)) return Py_NewRef(text);
    out += words ? words - 1 : 0;
    PyObject *result = PyUnicode_New(out, words > 1 && largest < ' ' ? ' ' : largest);
    if (result == NULL) return NULL;
    int result_kind = PyUnicode_KIND(result);
    void *result_data = PyUnicode_DATA(result);
    Py_ssize_t written = 0;
    space = 1;
    if (kind == PyUnicode_1BYTE_KIND) NORMALISE_WRITE(Py_UCS1)
    else if (kind == PyUnicode_2BYTE_KIND) NORMALISE_WRITE(Py_UCS2)
    else NORMALISE_WRITE(Py_UCS4)
    return result;
}
#undef NORMALISE_MEASURE
#undef NORMALISE_WRITE

static Py_ssize_t count_commas(PyObject *text) { /* text.count(",") + text.count("\u060c") */
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), count = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        count += c == ',' || c == 0x060c;
    }
    return count;
}

static PyObject *own_text_of(lxb_node *root);
static PyObject *direct_text_of(lxb_node *root);

enum { DIRECT_TEXT = 40 }; /* generic._DIRECT_TEXT */

/* generic._mixed_block's tests: enough text of the container's own, not counting whitespace. */
static int has_own_text(lxb_node *node) {
    size_t bytes = 0; /* characters <= bytes: too few bytes settles it without decoding */
    for (lxb_node *child = node->first_child; child != NULL; child = child->next)
        if (child->type == NODE_TEXT && ((lxb_character_data *)child)->data.data != NULL)
            bytes += ((lxb_character_data *)child)->data.length;
    if (bytes < DIRECT_TEXT) return 0;
    Py_ssize_t length = 0, stripped = 0; /* of text(deep=False): its characters, and whether any is not a space */
    shared_buffer.length = 0;
    for (lxb_node *child = node->first_child; child != NULL; child = child->next) {
        lexbor_str *str = &((lxb_character_data *)child)->data;
        if (child->type == NODE_TEXT && str->data != NULL && buffer_add(&shared_buffer, str->data, str->length) < 0)
            return -1;
    }
    const unsigned char *p = (const unsigned char *)(shared_buffer.data ? shared_buffer.data : ""), *end = p + shared_buffer.length;
    Py_UCS4 c;
    while (p < end && next_code_point(&p, end, &c)) {
        length++;
        stripped |= !is_space(c);
    }
    int valid = p == end;
    shared_release();
    if (!valid) { /* bad UTF-8: count what the replacement characters make of it */
        PyObject *direct = direct_text_of(node);
        if (direct == NULL) return -1;
        length = PyUnicode_GET_LENGTH(direct);
        stripped = stripped_length(direct);
        Py_DECREF(direct);
    }
    if (length < DIRECT_TEXT || stripped == 0) return 0;
    stripped = fragments_stripped_length(node, 0);
    return stripped < 0 ? -1 : stripped >= DIRECT_TEXT;
}

/* Per text block: (text, normalised line, commas); per mixed container with text of its own:
 * (index, own text, link length). */
static int add_units(arrays *a, Py_ssize_t i, PyObject *texts, PyObject *lines, PyObject *commas,
                     PyObject *mixed) {
    if (a->kind[i] == 1) {
        PyObject *text = subtree_text(a->nodes[i], 0);
        if (text == NULL) return -1;
        PyObject *line = normalise(text), *count = PyLong_FromSsize_t(count_commas(text));
        int failed = line == NULL || count == NULL || PyList_Append(texts, text) || PyList_Append(lines, line) ||
                     PyList_Append(commas, count);
        Py_DECREF(text);
        Py_XDECREF(line);
        Py_XDECREF(count);
        return failed ? -1 : 0;
    }
    int own = has_own_text(a->nodes[i]);
    if (own <= 0) return own;
    PyObject *pair = own_text_of(a->nodes[i]);
    if (pair == NULL) return -1;
    PyObject *unit = Py_BuildValue("(nOO)", i, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1));
    Py_DECREF(pair);
    if (unit == NULL) return -1;
    int failed = PyList_Append(mixed, unit);
    Py_DECREF(unit);
    return failed ? -1 : 0;
}

static PyObject *build_result(arrays *a) {
    Py_ssize_t n = a->count;
    PyObject *ids = PyList_New(n), *tags = PyList_New(n), *below = PyList_New(n);
    PyObject *parents = list_of_ssize(a->parents, n), *ends = list_of_ssize(a->ends, n);
    PyObject *links = list_of_ssize(a->links, n);
    PyObject *blocks = PyList_New(0), *mixed = PyList_New(0), *texts = PyList_New(0);
    PyObject *lines = PyList_New(0), *commas = PyList_New(0);
    PyObject *result = NULL;
    if (!ids || !tags || !below || !parents || !ends || !links || !blocks || !mixed || !texts || !lines || !commas)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = PyLong_FromVoidPtr(a->nodes[i]);
        PyObject *tag = PyLong_FromSize_t(a->tags[i]);
        PyObject *bits = PyLong_FromLong(a->below[i]);
        if (!id || !tag || !bits) {
            Py_XDECREF(id);
            Py_XDECREF(tag);
            Py_XDECREF(bits);
            goto done;
        }
        PyList_SET_ITEM(ids, i, id);
        PyList_SET_ITEM(tags, i, tag);
        PyList_SET_ITEM(below, i, bits);
        if (a->kind[i] == 1) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL) goto done;
            int failed = PyList_Append(blocks, index);
            Py_DECREF(index);
            if (failed) goto done;
        }
        if (a->kind[i] && add_units(a, i, texts, lines, commas, mixed) < 0) goto done;
    }
    result = PyTuple_Pack(11, ids, tags, parents, ends, below, links, blocks, texts, lines, commas, mixed);
done:
    Py_XDECREF(ids);
    Py_XDECREF(tags);
    Py_XDECREF(below);
    Py_XDECREF(parents);
    Py_XDECREF(ends);
    Py_XDECREF(links);
    Py_XDECREF(blocks);
    Py_XDECREF(mixed);
    Py_XDECREF(texts);
    Py_XDECREF(lines);
    Py_XDECREF(commas);
    return result;
}

static PyObject *walk(PyObject *self, PyObject *arg) {
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_lexwalk.configure() was not called");
        return NULL;
    }
    lxb_node *body = node_of(arg);
    if (body == NULL) return NULL;
    arrays a = {0};
    PyObject *result = walk_tree(body, &a) < 0 ? NULL : build_result(&a);
    arrays_free(&a);
    return result;
}

/* ---- reads on single nodes */
static PyObject *text(PyObject *self, PyObject *arg) {
    lxb_node *node = node_of(arg);
    return node == NULL ? NULL : subtree_text(node, 0);
}

static PyObject *text_with_breaks(PyObject *self, PyObject *arg) {
    lxb_node *node = node_of(arg);
    return node == NULL ? NULL : subtree_text(node, 1);
}

static PyObject *stripped_len(PyObject *self, PyObject *args) {
    PyObject *id;
    int deep;
    if (!PyArg_ParseTuple(args, "Op", &id, &deep)) return NULL;
    lxb_node *node = node_of(id);
    if (node == NULL) return NULL;
    Py_ssize_t length = fragments_stripped_length(node, deep);
    return length < 0 ? NULL : PyLong_FromSsize_t(length);
}

static PyObject *direct_text_of(lxb_node *root) { /* text(deep=False) */
    PyObject *out = NULL;
    shared_buffer.length = 0;
    for (lxb_node *node = root->first_child; node != NULL; node = node->next) {
        if (node->type != NODE_TEXT) continue;
        lexbor_str *str = &((lxb_character_data *)node)->data;
        if (str->data != NULL && buffer_add(&shared_buffer, str->data, str->length) < 0) goto done;
    }
    out = decode(&shared_buffer);
done:
    shared_release();
    return out;
}

static PyObject *direct_text(PyObject *self, PyObject *arg) {
    lxb_node *root = node_of(arg);
    return root == NULL ? NULL : direct_text_of(root);
}

/* generic._own_text before its normalising: (inline children's text with a paragraph break for every
 * other non-comment child, link text length). Each child's text is decoded on its own, as
 * child.text() did. */
static PyObject *own_text_of(lxb_node *root) {
    PyObject *parts = PyList_New(0), *out = NULL;
    Py_ssize_t links = 0;
    if (parts == NULL) return NULL;
    for (lxb_node *node = root->first_child; node != NULL; node = node->next) {
        uintptr_t tag = node->local_name;
        PyObject *piece;
        if (IN(inline_tags, tag)) {
            if (node->type == NODE_TEXT) {
                lexbor_str *str = &((lxb_character_data *)node)->data;
                piece = PyUnicode_DecodeUTF8(str->data ? (const char *)str->data : "", (Py_ssize_t)str->length,
                                             "replace");
            } else {
                piece = subtree_text(node, 0);
            }
            if (piece == NULL) goto done;
            if (tag == tag_a) links += stripped_length(piece);
        } else if (tag != TAG_COMMENT) {
            piece = PyUnicode_FromString("\u2029");
            if (piece == NULL) goto done;
        } else {
            continue;
        }
        int failed = PyList_Append(parts, piece);
        Py_DECREF(piece);
        if (failed) goto done;
    }
    PyObject *empty = PyUnicode_FromString("");
    if (empty == NULL) goto done;
    PyObject *joined = PyUnicode_Join(empty, parts);
    Py_DECREF(empty);
    if (joined == NULL) goto done;
    out = Py_BuildValue("(Nn)", joined, links);
done:
    Py_DECREF(parts);
    return out;
}

static PyObject *own_text(PyObject *self, PyObject *arg) {
    lxb_node *root = node_of(arg);
    return root == NULL ? NULL : own_text_of(root);
}

/* An attribute's name: lexbor's fixed names are known here only for class/id/style; others (role,
 * hidden, aria-hidden) live in the document's hash, whose entry starts with the name. */
/* The attribute's name id as node.attributes reads it (its qualified name, else its local name). */
static inline uintptr_t attr_key(const lxb_attr *attr) {
    return attr->qualified_name ? attr->qualified_name : attr->node.local_name;
}

/* Its value, or NULL when it has none (<div hidden>): node.attributes gives None then. */
static const lexbor_str *value_of(const lxb_attr *attr) {
    return attr == NULL || attr->value == NULL || attr->value->data == NULL ? NULL : attr->value;
}

/* The value as node.attributes gives it: str (bad UTF-8 replaced) or None (no attribute, or no value). */
static PyObject *attr_value(const lxb_attr *attr) {
    const lexbor_str *value = value_of(attr);
    if (value == NULL) return Py_NewRef(Py_None);
    return PyUnicode_DecodeUTF8((const char *)value->data, (Py_ssize_t)value->length, "replace");
}

static int attr_name_is(uintptr_t id, const char *name, size_t length) {
    if (id < ATTR_FIXED_LIMIT) return 0;
    const lexbor_hash_entry *entry = (const lexbor_hash_entry *)id;
    if (entry->length != length) return 0;
    const unsigned char *str = length <= HASH_SHORT_SIZE ? entry->u.short_str : entry->u.long_str;
    return memcmp(str, name, length) == 0;
}

static int set_attr(PyObject *dict, const char *key, const lxb_attr *attr) {
    PyObject *value = attr_value(attr);
    if (value == NULL) return -1;
    int failed = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return failed;
}

/* The attributes the widget and class-name checks read (class, id, style, role, hidden,
 * aria-hidden), as node.attributes gives them: value or None, the first of duplicates. */
static PyObject *attrs_of(const lxb_node *node) {
    PyObject *dict = PyDict_New();
    if (dict == NULL || node->type != NODE_ELEMENT) return dict;
    for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        const char *key = id == ATTR_CLASS ? "class"
                          : id == ATTR_ID ? "id"
                          : id == ATTR_STYLE ? "style"
                          : attr_name_is(id, "role", 4) ? "role"
                          : attr_name_is(id, "hidden", 6) ? "hidden"
                          : attr_name_is(id, "aria-hidden", 11) ? "aria-hidden"
                          : NULL;
        if (key == NULL) continue;
        if (set_attr(dict, key, attr) < 0) { /* the last of duplicates wins, as in node.attributes */
            Py_DECREF(dict);
            return NULL;
        }
    }
    return dict;
}

static PyObject *attrs(PyObject *self, PyObject *arg) {
    lxb_node *node = node_of(arg);
    return node == NULL ? NULL : attrs_of(node);
}

/* ---- generic._best_containers' voting: each unit gives its parent, grandparent and great-grandparent
 * its weight times 1, 0.5, 0.25; the result is {container: score * (1 - link share) ** 2} in the
 * order of first votes (ties go to the first voted), the same floating-point steps as the Python. */
/* The arrays generic.py passes hold exact ints and floats: anything else is refused before it is converted,
 * since a subclass's __index__ or __float__ could run Python code that shrinks the lists being read. */
static int exact_number(PyObject *item, int floats) {
    if (PyLong_CheckExact(item) || (floats && PyFloat_CheckExact(item))) return 0;
    PyErr_SetString(PyExc_TypeError, "_lexwalk arrays hold exact ints (and floats for weights)");
    return -1;
}

static int read_ssize(PyObject *list, Py_ssize_t i, Py_ssize_t *out) {
    PyObject *item = PyList_GET_ITEM(list, i);
    if (exact_number(item, 0) < 0) return -1;
    *out = PyLong_AsSsize_t(item);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* Python's ** calls libm's pow(); the compiler would turn pow(x, 2.0) into x * x, which differs from it in
 * the last bit now and then (found by bench/fuzz_atheris.py --targets native) and can flip a close vote. */
static double (*volatile libm_pow)(double, double) = pow;

/* The votes over C arrays: ``up`` the parents of ``count`` elements, per unit its element, weight, length
 * and link length. Fills ``bases`` (per element; meaningful where ``voted`` lists it) and returns how many
 * containers ``voted`` lists, in the order of first votes, or -1 (memory). */
typedef struct {
    Py_ssize_t *index, *length, *link_length, *commas;
    double *weight;
    PyObject **text, **line; /* owned references */
    unsigned char *own;
    Py_ssize_t count, capacity;
} units_t;

static Py_ssize_t vote_core(const Py_ssize_t *up, Py_ssize_t count, const units_t *units, Py_ssize_t *voted,
                            double *bases) {
    static const double levels[3] = {1.0, 0.5, 0.25};
    Py_ssize_t *text_lens = PyMem_Calloc(count + 1, sizeof(Py_ssize_t));
    Py_ssize_t *link_lens = PyMem_Calloc(count + 1, sizeof(Py_ssize_t));
    double *scores = PyMem_Calloc(count + 1, sizeof(double));
    unsigned char *has_vote = PyMem_Calloc(count + 1, 1); /* not text_lens == 0: a length of 0 from a caller
                                                             would list an element twice and overrun voted */
    Py_ssize_t voted_count = 0, kept = 0;
    if (!text_lens || !link_lens || !scores || !has_vote) {
        PyErr_NoMemory();
        kept = -1;
        goto done;
    }
    for (Py_ssize_t u = 0; u < units->count; u++) {
        Py_ssize_t ancestor = units->index[u];
        for (int level = 0; level < 3; level++) {
            ancestor = up[ancestor];
            if (ancestor < 0) break;
            if (!has_vote[ancestor]) {
                has_vote[ancestor] = 1;
                voted[voted_count++] = ancestor;
            }
            scores[ancestor] += units->weight[u] * levels[level];
            text_lens[ancestor] += units->length[u];
            link_lens[ancestor] += units->link_length[u];
        }
    }
    for (Py_ssize_t v = 0; v < voted_count; v++) { /* keep the ones with a base score, in order */
        Py_ssize_t key = voted[v];
        if (!(scores[key] > 0) || !text_lens[key]) continue;
        double share = (double)link_lens[key] / (double)text_lens[key];
        bases[key] = scores[key] * libm_pow(1 - share, 2.0);
        voted[kept++] = key;
    }
done:
    PyMem_Free(text_lens);
    PyMem_Free(link_lens);
    PyMem_Free(scores);
    PyMem_Free(has_vote);
    return kept;
}

static PyObject *vote(PyObject *self, PyObject *args) {
    PyObject *parents, *index, *weights, *lengths, *link_lengths, *result = NULL;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!", &PyList_Type, &parents, &PyList_Type, &index, &PyList_Type, &weights,
                          &PyList_Type, &lengths, &PyList_Type, &link_lengths))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(parents), n = PyList_GET_SIZE(index);
    if (PyList_GET_SIZE(weights) != n || PyList_GET_SIZE(lengths) != n || PyList_GET_SIZE(link_lengths) != n) {
        PyErr_SetString(PyExc_ValueError, "unit lists differ in length");
        return NULL;
    }
    units_t units = {.count = n};
    Py_ssize_t *up = PyMem_Calloc(count + 1, sizeof(Py_ssize_t)), *voted = PyMem_Calloc(count + 1, sizeof(Py_ssize_t));
    double *bases = PyMem_Calloc(count + 1, sizeof(double));
    units.index = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    units.length = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    units.link_length = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    units.weight = PyMem_Calloc(n + 1, sizeof(double));
    if (!up || !voted || !bases || !units.index || !units.length || !units.link_length || !units.weight) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (read_ssize(parents, i, &up[i]) < 0) goto done;
        if (up[i] >= count) {
            PyErr_SetString(PyExc_ValueError, "parent out of range");
            goto done;
        }
    }
    for (Py_ssize_t u = 0; u < n; u++) {
        if (read_ssize(index, u, &units.index[u]) < 0 || read_ssize(lengths, u, &units.length[u]) < 0 ||
            read_ssize(link_lengths, u, &units.link_length[u]) < 0)
            goto done;
        if (exact_number(PyList_GET_ITEM(weights, u), 1) < 0) goto done;
        units.weight[u] = PyFloat_AsDouble(PyList_GET_ITEM(weights, u));
        if (units.weight[u] == -1.0 && PyErr_Occurred()) goto done;
        if (units.index[u] < 0 || units.index[u] >= count) {
            PyErr_SetString(PyExc_ValueError, "unit index out of range");
            goto done;
        }
    }
    Py_ssize_t kept = vote_core(up, count, &units, voted, bases);
    if (kept < 0 || (result = PyDict_New()) == NULL) goto done;
    for (Py_ssize_t v = 0; v < kept; v++) {
        PyObject *name = PyLong_FromSsize_t(voted[v]), *value = PyFloat_FromDouble(bases[voted[v]]);
        int failed = name == NULL || value == NULL || PyDict_SetItem(result, name, value) < 0;
        Py_XDECREF(name);
        Py_XDECREF(value);
        if (failed) {
            Py_CLEAR(result);
            goto done;
        }
    }
done:
    PyMem_Free(up);
    PyMem_Free(voted);
    PyMem_Free(bases);
    PyMem_Free(units.index);
    PyMem_Free(units.length);
    PyMem_Free(units.link_length);
    PyMem_Free(units.weight);
    return result;
}

/* ---- <meta> and JSON-LD for metadata.py, in one C walk instead of a wrapper and an attribute dict per tag */
enum { ATTR_CONTENT = 0x10, ATTR_HREF = 0x1d, ATTR_REL = 0x32, ATTR_TYPE = 0x43 };

/* css_first("link[rel=canonical][href]") matches this element: rel is "canonical" in any ASCII case (lexbor
 * compares rel values case-blind, as HTML asks), and href is present, with or without a value. */
static int canonical_link(const lxb_element *element, const lxb_attr **href) {
    const lxb_attr *rel = NULL;
    *href = NULL;
    for (const lxb_attr *attr = element->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        if (id == ATTR_REL) rel = attr;
        else if (id == ATTR_HREF) *href = attr;
    }
    const lexbor_str *value = value_of(rel);
    if (*href == NULL || value == NULL || value->length != 9) return 0;
    for (int k = 0; k < 9; k++) {
        unsigned char c = value->data[k];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)"canonical"[k]) return 0;
    }
    return 1;
}

/* str.strip() of the attribute value's text, decoding only the kept bytes when they are valid UTF-8. */
static PyObject *stripped_value(const lexbor_str *value) {
    const unsigned char *p = value->data, *end = p + value->length, *first = NULL, *last = p;
    Py_UCS4 c;
    while (p < end) {
        const unsigned char *at = p;
        if (!next_code_point(&p, end, &c)) { /* bad UTF-8: as decoding with "replace" and strip() make it */
            PyObject *text = PyUnicode_DecodeUTF8((const char *)value->data, (Py_ssize_t)value->length, "replace");
            PyObject *out = text == NULL ? NULL : PyObject_CallMethod(text, "strip", NULL);
            Py_XDECREF(text);
            return out;
        }
        if (is_space(c)) continue;
        if (first == NULL) first = at;
        last = p;
    }
    if (first == NULL) return PyUnicode_FromStringAndSize("", 0);
    return PyUnicode_DecodeUTF8((const char *)first, last - first, "strict");
}

/* metadata.read_meta's key: value.strip().lower(). */
static PyObject *meta_key(const lexbor_str *value) {
    PyObject *stripped = stripped_value(value);
    if (stripped == NULL || !PyUnicode_IS_ASCII(stripped)) {
        PyObject *out = stripped == NULL ? NULL : PyObject_CallMethod(stripped, "lower", NULL);
        Py_XDECREF(stripped);
        return out;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(stripped);
    const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(stripped);
    Py_ssize_t k = 0;
    while (k < length && !(chars[k] >= 'A' && chars[k] <= 'Z')) k++;
    if (k == length) return stripped; /* already lower case: most keys */
    PyObject *out = PyUnicode_New(length, 127);
    if (out != NULL)
        for (k = 0; k < length; k++)
            PyUnicode_1BYTE_DATA(out)[k] = chars[k] >= 'A' && chars[k] <= 'Z' ? chars[k] + 32 : chars[k];
    Py_DECREF(stripped);
    return out;
}

/* Whether a <meta>'s key attribute names one of ``wanted`` (metadata.READ_KEYS: lower-case ASCII str) once
 * stripped and lower-cased: 1 with *key set to that str (a new reference), else 0, or -1 on an error. An ASCII
 * key is compared as bytes, without building a str; any other takes meta_key. */
static int wanted_key(PyObject *wanted, const lexbor_str *value, PyObject **key) {
    const unsigned char *p = value->data, *end = p + value->length;
    unsigned char lower[64];
    size_t length = 0;
    *key = NULL;
    while (p < end && *p < 0x80 && is_space(*p)) p++;
    while (end > p && end[-1] < 0x80 && is_space(end[-1])) end--;
    for (const unsigned char *at = p; at < end; at++) {
        if (*at >= 0x80) goto not_ascii;
        if (length == sizeof lower) return 0; /* longer than any key read (metadata.py checks) */
        lower[length++] = (unsigned char)(*at >= 'A' && *at <= 'Z' ? *at + 32 : *at);
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(wanted); k++) {
        PyObject *item = PyTuple_GET_ITEM(wanted, k);
        if ((size_t)PyUnicode_GET_LENGTH(item) == length && memcmp(PyUnicode_1BYTE_DATA(item), lower, length) == 0) {
            *key = Py_NewRef(item);
            return 1;
        }
    }
    return 0;
not_ascii:;
    PyObject *text = meta_key(value);
    if (text == NULL) return -1;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(wanted); k++) {
        int same = PyUnicode_Compare(text, PyTuple_GET_ITEM(wanted, k));
        if (same == 0) {
            *key = text;
            return 1;
        }
        if (same == -1 && PyErr_Occurred()) break;
    }
    Py_DECREF(text);
    return PyErr_Occurred() ? -1 : 0;
}

/* metadata.read_meta for one <meta>: its stripped content under those of its property, name and itemprop keys
 * that are wanted (node.attributes.get() of each: the last duplicate attribute wins), unless a key is already
 * there. The content's str is built only when a key is wanted. */
static int add_meta(PyObject *values, lxb_node *node, PyObject *wanted) {
    const lxb_attr *found[4] = {NULL, NULL, NULL, NULL};
    for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        if (id == ATTR_CONTENT) found[0] = attr;
        else if (attr_name_is(id, "property", 8)) found[1] = attr;
        else if (attr_name_is(id, "name", 4)) found[2] = attr;
        else if (attr_name_is(id, "itemprop", 8)) found[3] = attr;
    }
    const lexbor_str *content = value_of(found[0]);
    if (content == NULL || !content->length) return 0;
    PyObject *keys[3] = {NULL, NULL, NULL}, *text = NULL;
    int status = 0, any = 0;
    for (int k = 0; k < 3 && status == 0; k++) {
        const lexbor_str *value = value_of(found[k + 1]);
        if (value == NULL || !value->length) continue;
        int hit = wanted_key(wanted, value, &keys[k]);
        status = hit < 0 ? -1 : 0;
        any |= hit > 0;
    }
    if (status == 0 && any && (text = stripped_value(content)) == NULL) status = -1;
    for (int k = 0; k < 3 && status == 0 && text != NULL && PyUnicode_GET_LENGTH(text); k++)
        if (keys[k] != NULL && PyDict_SetDefault(values, keys[k], text) == NULL) status = -1;
    for (int k = 0; k < 3; k++) Py_XDECREF(keys[k]);
    Py_XDECREF(text);
    return status;
}

static int is_ld_json(lxb_node *node) {
    static const char wanted[] = "application/ld+json";
    const lxb_attr *type = NULL;
    for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        if (id == ATTR_TYPE) type = attr;
    }
    const lexbor_str *value = value_of(type);
    return value != NULL && value->length == sizeof wanted - 1 && memcmp(value->data, wanted, sizeof wanted - 1) == 0;
}

/* head_data(root_id, meta_tag, script_tag, link_tag, wanted) -> (MetaTags.values as metadata.read_meta makes them,
 * [ld+json text], the first canonical link's href or None), in document order over the descendants of root, as
 * tree.tags("meta") / tree.tags("script") / css_first("link[rel=canonical][href]") find them. */
static PyObject *head_data(PyObject *self, PyObject *args) {
    PyObject *id, *wanted;
    unsigned long long meta_tag, script_tag, link_tag;
    if (!PyArg_ParseTuple(args, "OKKKO!", &id, &meta_tag, &script_tag, &link_tag, &PyTuple_Type, &wanted)) return NULL;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(wanted); k++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(wanted, k)) || !PyUnicode_IS_ASCII(PyTuple_GET_ITEM(wanted, k))) {
            PyErr_SetString(PyExc_TypeError, "head_data: wanted keys must be ASCII str");
            return NULL;
        }
    lxb_node *root = node_of(id);
    if (root == NULL) return NULL;
    PyObject *metas = PyDict_New(), *scripts = PyList_New(0), *canonical = NULL, *result = NULL;
    if (metas == NULL || scripts == NULL) goto done;
    lxb_node *node = root->first_child;
    while (node != NULL) {
        if (node->type == NODE_ELEMENT && (node->local_name == meta_tag || node->local_name == script_tag)) {
            if (node->local_name == meta_tag) {
                if (add_meta(metas, node, wanted) < 0) goto done;
            } else if (is_ld_json(node)) {
                PyObject *text = subtree_text(node, 0);
                int failed = text == NULL || PyList_Append(scripts, text) < 0;
                Py_XDECREF(text);
                if (failed) goto done;
            }
        }
        const lxb_attr *href;
        if (canonical == NULL && node->type == NODE_ELEMENT && node->local_name == link_tag &&
            canonical_link((const lxb_element *)node, &href) && (canonical = attr_value(href)) == NULL)
            goto done;
        node = preorder_next(node, root);
    }
    result = PyTuple_Pack(3, metas, scripts, canonical == NULL ? Py_None : canonical);
done:
    Py_XDECREF(metas);
    Py_XDECREF(scripts);
    Py_XDECREF(canonical);
    return result;
}

/* ---- fields.pick_author's last resort, css_first("[itemprop=author], [rel=author], .byline, .author"),
 * without lexbor's selector engine. lexbor compares itemprop exactly; rel ASCII-case-blind on HTML
 * elements (HTML's list of such attributes) but exactly elsewhere; class tokens exactly, or case-blind in
 * a quirks-mode document. Those last cases depend on what this walk cannot see (namespace, quirks mode):
 * an element that matches only case-blind makes the answer undecided, and the caller asks css_first. */
static int ascii_equal_fold(const unsigned char *a, const char *b, size_t length) {
    for (size_t k = 0; k < length; k++) {
        unsigned char c = a[k];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)b[k]) return 0;
    }
    return 1;
}

/* 2: exactly this word; 1: only ASCII-case-blind; 0: not it. */
static int word_match(const unsigned char *data, size_t length, const char *word) {
    size_t size = strlen(word);
    if (length != size) return 0;
    return memcmp(data, word, size) == 0 ? 2 : ascii_equal_fold(data, word, size);
}

static int class_token_match(const lexbor_str *value, const char *word) { /* best word_match of any token */
    int best = 0;
    size_t start = 0;
    for (size_t k = 0; k <= value->length; k++) {
        unsigned char c = k < value->length ? value->data[k] : ' ';
        if (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r') { /* lexbor's whitespace */
            int found = word_match(value->data + start, k - start, word);
            if (found > best) best = found;
            start = k + 1;
        }
    }
    return best;
}

/* 2: the element matches the selector list; 1: it may, depending on namespace or quirks mode; 0: no. */
static int author_match(const lxb_element *element) {
    int best = 0;
    for (const lxb_attr *attr = element->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        const lexbor_str *value = value_of(attr);
        if (value == NULL) continue;
        int found = 0;
        if (id == ATTR_REL) found = word_match(value->data, value->length, "author");
        else if (id == ATTR_CLASS) {
            found = class_token_match(value, "byline");
            int other = class_token_match(value, "author");
            if (other > found) found = other;
        } else if (attr_name_is(id, "itemprop", 8)) {
            found = word_match(value->data, value->length, "author") == 2 ? 2 : 0;
        }
        if (found > best) best = found;
    }
    return best;
}

/* author_element(root_id) -> None (no element matches), (content attribute or None, text) of the first
 * that does, in document order from root itself, or False when the first possible match is undecided. */
static PyObject *author_element(PyObject *self, PyObject *arg) {
    lxb_node *root = node_of(arg);
    if (root == NULL) return NULL;
    for (lxb_node *node = root; node != NULL; node = preorder_next(node, root)) {
        if (node->type != NODE_ELEMENT) continue;
        int match = author_match((const lxb_element *)node);
        if (match == 1) Py_RETURN_FALSE;
        if (match == 0) continue;
        const lxb_attr *content = NULL;
        for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next)
            if (attr_key(attr) == ATTR_CONTENT) content = attr;
        PyObject *value = attr_value(content), *text = value == NULL ? NULL : subtree_text(node, 0);
        if (text == NULL) {
            Py_XDECREF(value);
            return NULL;
        }
        return Py_BuildValue("(NN)", value, text);
    }
    Py_RETURN_NONE;
}

/* first_element(root_id, tag_id) -> id or None: css_first("<tag>") from the document, i.e. the first element in
 * document order, root included, with that tag in any namespace (lexbor's type selector compares tag ids). */
static PyObject *first_element(PyObject *self, PyObject *args) {
    PyObject *id;
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "OK", &id, &tag)) return NULL;
    lxb_node *root = node_of(id);
    if (root == NULL) return NULL;
    for (lxb_node *node = root; node != NULL; node = preorder_next(node, root))
        if (node->type == NODE_ELEMENT && node->local_name == tag) return PyLong_FromVoidPtr(node);
    Py_RETURN_NONE;
}

/* metadata._walk: every dict in a decoded JSON-LD tree, parents before children, in the same order (a stack:
 * a dict's container values are pushed in order, a list's in reverse). */
static PyObject *json_dicts(PyObject *self, PyObject *data) {
    PyObject *found = PyList_New(0), *stack = PyList_New(0);
    if (found == NULL || stack == NULL || PyList_Append(stack, data) < 0) goto fail;
    Py_ssize_t depth;
    while ((depth = PyList_GET_SIZE(stack)) > 0) {
        PyObject *item = Py_NewRef(PyList_GET_ITEM(stack, depth - 1));
        if (PyList_SetSlice(stack, depth - 1, depth, NULL) < 0) {
            Py_DECREF(item);
            goto fail;
        }
        int failed = 0;
        if (PyDict_Check(item)) {
            failed = PyList_Append(found, item) < 0;
            PyObject *key, *value;
            Py_ssize_t at = 0;
            while (!failed && PyDict_Next(item, &at, &key, &value))
                if (PyDict_Check(value) || PyList_Check(value)) failed = PyList_Append(stack, value) < 0;
        } else if (PyList_Check(item)) {
            for (Py_ssize_t k = PyList_GET_SIZE(item) - 1; k >= 0 && !failed; k--) {
                PyObject *value = PyList_GET_ITEM(item, k);
                if (PyDict_Check(value) || PyList_Check(value)) failed = PyList_Append(stack, value) < 0;
            }
        }
        Py_DECREF(item);
        if (failed) goto fail;
    }
    Py_DECREF(stack);
    return found;
fail:
    Py_XDECREF(found);
    Py_XDECREF(stack);
    return NULL;
}

/* ---- date-looking elements for fields.pick_date: how many selectors of fields._VISIBLE_DATE match each
 * element (itemprop=datePublished; class containing date, time, publish, created, posted, Date, Time,
 * timestamp; id containing date, time: all case-sensitive substrings), where lexbor's selector engine
 * tested every element of the page against 11 selectors. */
static int contains(const lexbor_str *value, const char *word) {
    size_t length = strlen(word);
    if (value == NULL || value->length < length) return 0;
    for (size_t i = 0; i + length <= value->length; i++)
        if (value->data[i] == (unsigned char)word[0] && memcmp(value->data + i, word, length) == 0) return 1;
    return 0;
}

static int date_hits(const lxb_element *element, const lxb_attr **content) {
    static const char *class_words[] = {"date", "time", "publish", "created", "posted", "Date", "Time", "timestamp"};
    const lxb_attr *itemprop = NULL, *cls = NULL, *ident = NULL;
    *content = NULL;
    for (const lxb_attr *attr = element->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        if (id == ATTR_CLASS) cls = attr;
        else if (id == ATTR_ID) ident = attr;
        else if (id == ATTR_CONTENT) *content = attr;
        else if (attr_name_is(id, "itemprop", 8)) itemprop = attr;
    }
    int hits = 0;
    const lexbor_str *value = value_of(itemprop);
    hits += value != NULL && value->length == 13 && memcmp(value->data, "datePublished", 13) == 0;
    if ((value = value_of(cls)) != NULL)
        for (size_t k = 0; k < sizeof class_words / sizeof *class_words; k++) hits += contains(value, class_words[k]);
    if ((value = value_of(ident)) != NULL) hits += contains(value, "date") + contains(value, "time");
    return hits;
}

/* fields.pick_date's sources after the metadata, from one walk of the whole document instead of three:
 * date_sources(root_id, budget, time_tag, h1_tag) -> ([datetime attribute of each <time>, or None],
 * the date-looking elements' (id, content attribute or None) until their matches reach ``budget``
 * (fields._visible_date_nodes), [ids of the element siblings among the 6 nodes after each of the first
 * 3 <h1>]), all in document order (tree.tags("time"), _visible_date_nodes, _date_near_headline). */
static PyObject *date_sources(PyObject *self, PyObject *args) {
    PyObject *id;
    Py_ssize_t budget;
    unsigned long long time_tag, h1_tag;
    if (!PyArg_ParseTuple(args, "OnKK", &id, &budget, &time_tag, &h1_tag)) return NULL;
    lxb_node *root = node_of(id);
    if (root == NULL) return NULL;
    PyObject *times = PyList_New(0), *found = PyList_New(0), *near = PyList_New(0), *result = NULL;
    int headlines = 0;
    if (times == NULL || found == NULL || near == NULL) goto done;
    for (lxb_node *node = root; node != NULL; node = preorder_next(node, root)) {
        if (node->type != NODE_ELEMENT) continue;
        PyObject *entry = NULL;
        if (node->local_name == time_tag) {
            const lxb_attr *datetime = NULL;
            for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next)
                if (attr_name_is(attr_key(attr), "datetime", 8)) datetime = attr;
            if ((entry = attr_value(datetime)) == NULL || PyList_Append(times, entry) < 0) goto fail;
            Py_CLEAR(entry);
        }
        if (node->local_name == h1_tag && headlines < 3) {
            headlines++;
            lxb_node *sibling = node->next;
            for (int k = 0; k < 6 && sibling != NULL; k++, sibling = sibling->next) {
                if (sibling->type != NODE_ELEMENT) continue;
                if ((entry = PyLong_FromVoidPtr(sibling)) == NULL || PyList_Append(near, entry) < 0) goto fail;
                Py_CLEAR(entry);
            }
        }
        const lxb_attr *content;
        int hits = budget > 0 ? date_hits((const lxb_element *)node, &content) : 0;
        if (hits) {
            PyObject *value = attr_value(content);
            entry = value == NULL ? NULL : Py_BuildValue("(NN)", PyLong_FromVoidPtr(node), value);
            if (entry == NULL || PyList_Append(found, entry) < 0) goto fail;
            Py_CLEAR(entry);
            budget -= hits;
        }
        continue;
    fail:
        Py_XDECREF(entry);
        goto done;
    }
    result = PyTuple_Pack(3, times, found, near);
done:
    Py_XDECREF(times);
    Py_XDECREF(found);
    Py_XDECREF(near);
    return result;
}

/* ---- bytes.count(b"<") for the nesting guard (article._refuse_absurd_nesting): CPython's count walks a
 * byte at a time (~0.1 ms on a 120 kB page); this counts 8 bytes per step. */
/* ---- decode.py's first look at a page, in one pass over its bytes: whether they are valid UTF-8 as
 * Python's strict decoder judges it (Unicode's table 3-7: no overlong forms, no surrogates, nothing past
 * U+10FFFF, no cut sequence), whether they are all ASCII, and how many '<' they hold (article.py's nesting
 * guard). Valid UTF-8 is then parsed as it is, never decoded to a str. Markup is ASCII, so most 16-byte
 * blocks of any page take the SSE2 path. Also whether valid bytes hold C3 98 or C3 99 (the UTF-8 of Ø and
 * Ù, without which no mojibake is there to repair: decode.utf8_has_mojibake's own scan is then skipped). */

#ifdef __SSE2__
static inline Py_ssize_t lane_sum(__m128i counts) { /* the 16 byte lanes' sum */
    __m128i sums = _mm_sad_epu8(counts, _mm_setzero_si128()); /* two 64-bit lanes, each the sum of 8 bytes */
    return _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
}
#endif

static inline int is_lead_mark(const unsigned char *p) { /* a valid sequence at p is Ø or Ù */
    return p[0] == 0xC3 && (p[1] & 0xFE) == 0x98;
}

static PyObject *scan_utf8(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = view.buf, *end = p + view.len;
    Py_ssize_t lt = 0;
    int ascii = 1, valid = 1, marked = 0;
#ifdef __SSE2__
    /* Whole blocks of ASCII and 2-byte sequences (markup, Arabic, most accented Latin) are checked by masks;
     * a block with anything else goes byte by byte up to its first multi-byte sequence, then back here. */
    const __m128i angle = _mm_set1_epi8('<'), zero = _mm_setzero_si128();
    const __m128i lead_base = _mm_set1_epi8((char)0xC2), lead_span = _mm_set1_epi8(0x1D);
    const __m128i top2 = _mm_set1_epi8((char)0xC0), continuation_bits = _mm_set1_epi8((char)0x80);
    const __m128i c3 = _mm_set1_epi8((char)0xC3), low_bit = _mm_set1_epi8((char)0xFE), x98 = _mm_set1_epi8((char)0x98);
    __m128i counts = zero; /* per byte lane, the '<' of up to 255 blocks */
    int pending = 0;
    unsigned carry = 0; /* the previous block ended with a lead byte: this one must start with its continuation */
    unsigned carried_c3 = 0; /* ... and that lead was C3 */
    while (valid && end - p >= 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)p);
        unsigned high = (unsigned)_mm_movemask_epi8(block);
        int whole = !high && !carry;
        if (high) {
            /* C2..DF: (byte - C2) mod 256 <= 1D; continuations: byte & C0 == 80 */
            unsigned leads = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_subs_epu8(_mm_sub_epi8(block, lead_base), lead_span), zero));
            unsigned follows = (unsigned)_mm_movemask_epi8(
                _mm_cmpeq_epi8(_mm_and_si128(block, top2), continuation_bits));
            whole = !(high & ~(leads | follows)) && follows == (((leads << 1) | carry) & 0xFFFF);
            if (whole) {
                unsigned c3s = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, c3));
                unsigned marks = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(block, low_bit), x98));
                marked |= (((c3s << 1) | carried_c3) & marks) != 0;
                ascii = 0;
                carry = leads >> 15;
                carried_c3 = c3s >> 15;
            }
        }
        if (whole) {
            counts = _mm_sub_epi8(counts, _mm_cmpeq_epi8(block, angle)); /* a match is -1 */
            p += 16;
            if (++pending == 255) {
                lt += lane_sum(counts);
                counts = zero;
                pending = 0;
            }
            continue;
        }
        carried_c3 = 0; /* the lead is read again below, as the start of its sequence */
        if (carry) { /* back to the lead byte: the sequence is checked from its start below */
            p--;
            carry = 0;
            continue;
        }
        unsigned angles = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, angle));
        int first = __builtin_ctz(high);
        lt += popcount16(angles & ((1u << first) - 1));
        p += first;
        int length = sequence_length(p, end);
        valid = length > 0;
        marked |= length == 2 && is_lead_mark(p);
        ascii = 0;
        p += length;
    }
    lt += lane_sum(counts);
    if (carry) p--;
#endif
    while (valid && p < end) {
        if (*p < 0x80) {
            lt += *p++ == '<';
            continue;
        }
        int length = sequence_length(p, end);
        valid = length > 0;
        marked |= length == 2 && is_lead_mark(p);
        ascii = 0;
        p += length;
    }
    if (!valid) lt += count_lt(p, end);
    PyBuffer_Release(&view);
    return Py_BuildValue("(ini)", valid ? (ascii ? 1 : 2) : 0, lt, valid && marked);
}

/* What selectolax hands lexbor for a str: text.encode("utf-8", "ignore") (lone surrogates dropped), with the
 * count of '<' that scan_utf8 gives for bytes and whether the text holds an Ø or a Ù. ASCII text is its own
 * UTF-8. */
static PyObject *encode_utf8(PyObject *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "encode_utf8 takes a str");
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), lt = 0;
    int lead = 0; /* an Ø or a Ù was seen: decode.has_mojibake's hint (its two finds over a str cost more) */
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (PyUnicode_IS_ASCII(text)) {
        PyObject *bytes = PyBytes_FromStringAndSize((const char *)data, length);
        if (bytes == NULL) return NULL;
        PyObject *scan = scan_utf8(NULL, bytes);
        if (scan == NULL) {
            Py_DECREF(bytes);
            return NULL;
        }
        lt = PyLong_AsSsize_t(PyTuple_GET_ITEM(scan, 1));
        Py_DECREF(scan);
        return Py_BuildValue("(NnO)", bytes, lt, Py_False);
    }
    Py_ssize_t size = 0; /* the exact UTF-8 size first (branch-free loops the compiler vectorises): a
                            * worst-case buffer cut down afterwards cost more */
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *chars = data;
        for (Py_ssize_t k = 0; k < length; k++) size += 1 + (chars[k] >= 0x80);
    } else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *units = data;
        Py_ssize_t k = 0;
#ifdef __SSE2__
        const __m128i zero = _mm_setzero_si128(), above_ascii = _mm_set1_epi16((short)0xFF80);
        const __m128i above_two = _mm_set1_epi16((short)0xF800), surrogate = _mm_set1_epi16((short)0xD800);
        for (; k + 8 <= length; k += 8) { /* per 16-bit lane: 1, +1 past ASCII, +1 past U+07FF, -3 a surrogate */
            if (k + 16 <= length) { /* 16 ASCII characters at once: the common run in a page's markup */
                __m128i both = _mm_or_si128(_mm_loadu_si128((const __m128i *)(units + k)),
                                            _mm_loadu_si128((const __m128i *)(units + k + 8)));
                if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(both, above_ascii), zero)) == 0xFFFF) {
                    size += 16;
                    k += 8; /* and 8 more by the loop */
                    continue;
                }
            }
            __m128i chars = _mm_loadu_si128((const __m128i *)(units + k)), top = _mm_and_si128(chars, above_two);
            unsigned ascii_lanes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(chars, above_ascii), zero));
            if (ascii_lanes == 0xFFFF) {
                size += 8;
                continue;
            }
            unsigned two_lanes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(top, zero));
            unsigned surrogate_lanes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(top, surrogate));
            size += 8 + (16 - popcount16(ascii_lanes)) / 2 + (16 - popcount16(two_lanes)) / 2 -
                    3 * (popcount16(surrogate_lanes) / 2);
        }
#endif
        for (; k < length; k++) {
            unsigned c = units[k];
            size += 1 + (c >= 0x80) + (c >= 0x800) - 3 * ((c - 0xD800u) < 0x800u);
        }
    } else {
        const Py_UCS4 *points = data;
        for (Py_ssize_t k = 0; k < length; k++) {
            Py_UCS4 c = points[k];
            size += c < 0x80 ? 1 : c < 0x800 ? 2 : (c >= 0xD800 && c <= 0xDFFF) ? 0 : c < 0x10000 ? 3 : 4;
        }
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, size);
    if (bytes == NULL) return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(bytes), *start = out;
    Py_ssize_t i = 0;
#ifdef __SSE2__
    if (kind == PyUnicode_2BYTE_KIND) { /* runs of 8 ASCII characters packed to 8 bytes at once */
        const Py_UCS2 *units = data;
        const __m128i high = _mm_set1_epi16((short)0xFF80), angle = _mm_set1_epi16('<');
        const __m128i angle_bytes = _mm_set1_epi8('<');
        while (i + 8 <= length) {
            if (i + 16 <= length) { /* 16 ASCII characters packed to 16 bytes, their '<' counted on the bytes */
                __m128i low = _mm_loadu_si128((const __m128i *)(units + i)),
                        up = _mm_loadu_si128((const __m128i *)(units + i + 8));
                if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(_mm_or_si128(low, up), high),
                                                      _mm_setzero_si128())) == 0xFFFF) {
                    __m128i bytes16 = _mm_packus_epi16(low, up);
                    lt += popcount16((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes16, angle_bytes)));
                    _mm_storeu_si128((__m128i *)out, bytes16);
                    out += 16;
                    i += 16;
                    continue;
                }
            }
            __m128i chars = _mm_loadu_si128((const __m128i *)(units + i));
            if (_mm_movemask_epi8(_mm_cmpeq_epi16(_mm_and_si128(chars, high), _mm_setzero_si128())) != 0xFFFF) {
                Py_UCS4 c = units[i++]; /* the first non-ASCII one of these, alone */
                if (c < 0x80) {
                    lt += c == '<';
                    *out++ = (unsigned char)c;
                    continue;
                }
                if (c < 0x800) {
                    lead |= c == 0xD8 || c == 0xD9;
                    *out++ = (unsigned char)(0xC0 | c >> 6);
                } else if (c >= 0xD800 && c <= 0xDFFF) {
                    continue; /* "ignore": a lone surrogate has no UTF-8 */
                } else {
                    *out++ = (unsigned char)(0xE0 | c >> 12);
                    *out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
                }
                *out++ = (unsigned char)(0x80 | (c & 0x3F));
                continue;
            }
            lt += popcount16((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi16(chars, angle))) / 2;
            _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(chars, chars));
            out += 8;
            i += 8;
        }
    }
#endif
    for (; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            lt += c == '<';
            *out++ = (unsigned char)c;
        } else if (c < 0x800) {
            lead |= c == 0xD8 || c == 0xD9;
            *out++ = (unsigned char)(0xC0 | c >> 6);
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            continue; /* "ignore": a lone surrogate has no UTF-8 */
        } else if (c < 0x10000) {
            *out++ = (unsigned char)(0xE0 | c >> 12);
            *out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            *out++ = (unsigned char)(0xF0 | c >> 18);
            *out++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *out++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *out++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    if (out - start != size) { /* the two passes disagree: a bug here, never a page's fault */
        Py_DECREF(bytes);
        PyErr_SetString(PyExc_SystemError, "encode_utf8: size pass and encoding pass disagree");
        return NULL;
    }
    return Py_BuildValue("(NnO)", bytes, lt, lead ? Py_True : Py_False);
}

/* ---- generic._widgets' scan: the elements inside a container that boilerplate.is_widget has to judge, and
 * what can be judged here. (index, 1, None): a widget (teaser card, <ins>, hidden, aria-hidden, a hiding
 * role); (index, 2, label): up to its class/id label (generic checks it); (index, 3, attrs): has a style
 * with "none" in it, so the display:none regex and then the label decide. Others are not widgets. */
static int value_is(const lexbor_str *value, const char *word) {
    size_t length = strlen(word);
    return value != NULL && value->length == length && memcmp(value->data, word, length) == 0;
}

static int hiding_role(const lexbor_str *role) { /* boilerplate._HIDDEN_ROLES */
    return value_is(role, "navigation") || value_is(role, "complementary") || value_is(role, "contentinfo") ||
           value_is(role, "banner") || value_is(role, "search");
}

static PyObject *label_of(const lxb_attr *cls, const lxb_attr *ident) { /* f"{class or ''} {id or ''}" */
    const lexbor_str *c = value_of(cls), *i = value_of(ident);
    shared_buffer.length = 0;
    if ((c != NULL && buffer_add(&shared_buffer, c->data, c->length) < 0) || buffer_add(&shared_buffer, " ", 1) < 0 ||
        (i != NULL && buffer_add(&shared_buffer, i->data, i->length) < 0))
        return NULL;
    PyObject *label = decode(&shared_buffer);
    shared_release();
    return label;
}

/* The verdict for one element (0: not a widget), with what generic needs to finish it in *data. */
static int widget_verdict(lxb_node *node, uintptr_t tag, int teaser, PyObject **data) {
    *data = NULL;
    if (teaser) return 1;
    if (IN(keep_tags, tag)) return 0;
    if (tag == tag_ins) return 1;
    if (node->type != NODE_ELEMENT) return 0;
    const lxb_attr *cls = NULL, *ident = NULL, *style = NULL, *role = NULL, *aria = NULL;
    int hidden = 0;
    for (const lxb_attr *attr = ((lxb_element *)node)->first_attr; attr != NULL; attr = attr->next) {
        uintptr_t id = attr_key(attr);
        if (id == ATTR_CLASS) cls = attr;
        else if (id == ATTR_ID) ident = attr;
        else if (id == ATTR_STYLE) style = attr;
        else if (attr_name_is(id, "role", 4)) role = attr;
        else if (attr_name_is(id, "hidden", 6)) hidden = 1;
        else if (attr_name_is(id, "aria-hidden", 11)) aria = attr;
    }
    if (!cls && !ident && !style && !role && !aria && !hidden) return 0;
    if (hidden || value_is(value_of(aria), "true") || hiding_role(value_of(role))) return 1;
    if (contains(value_of(style), "none")) {
        *data = attrs_of(node);
        return *data == NULL ? -1 : 3;
    }
    *data = label_of(cls, ident);
    return *data == NULL ? -1 : 2;
}

static PyObject *widget_candidates(PyObject *self, PyObject *args) {
    PyObject *ids, *tags, *below, *ends, *out = NULL;
    Py_ssize_t container;
    if (!PyArg_ParseTuple(args, "O!O!O!O!n", &PyList_Type, &ids, &PyList_Type, &tags, &PyList_Type, &below,
                          &PyList_Type, &ends, &container))
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(tags), end;
    if (container < 0 || container >= count || PyList_GET_SIZE(ids) != count || PyList_GET_SIZE(below) != count ||
        PyList_GET_SIZE(ends) != count || read_ssize(ends, container, &end) < 0 || end > count) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "arrays do not fit together");
        return NULL;
    }
    if ((out = PyList_New(0)) == NULL) return NULL;
    for (Py_ssize_t i = container + 1; i < end; i++) {
        if (exact_number(PyList_GET_ITEM(tags, i), 0) < 0 || exact_number(PyList_GET_ITEM(below, i), 0) < 0) goto fail;
        uintptr_t tag = (uintptr_t)PyLong_AsSize_t(PyList_GET_ITEM(tags, i));
        long bits = PyLong_AsLong(PyList_GET_ITEM(below, i));
        if (PyErr_Occurred()) goto fail;
        if (!IN(textual_tags, tag) && !(bits & textual_bits)) continue; /* holds no text block */
        int teaser = tag == tag_a && (bits & teaser_bits) != 0;
        if (!teaser && (tag == tag_a || tag == TAG_COMMENT)) continue; /* generic._NEVER_WIDGETS */
        lxb_node *node = node_of(PyList_GET_ITEM(ids, i));
        if (node == NULL) goto fail;
        PyObject *data;
        int verdict = widget_verdict(node, tag, teaser, &data);
        if (verdict < 0) goto fail;
        if (verdict == 0) continue;
        PyObject *entry = Py_BuildValue("(niO)", i, verdict, data == NULL ? Py_None : data);
        Py_XDECREF(data);
        if (entry == NULL || PyList_Append(out, entry) < 0) {
            Py_XDECREF(entry);
            goto fail;
        }
        Py_DECREF(entry);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ---- configuration */
/* ---- generic.extract_paragraphs after the walk, in C: units, votes, the best container and its siblings,
 * widgets, paragraph lines and the trim of the edges, over the walk's C arrays (no Python list per field).
 * The regular expressions stay in Python: configure_rules() hands over generic._label_weight,
 * boilerplate.label_is_widget, style_hides, the PHRASES.match and RIGHTS of is_boilerplate_text (called
 * without a Python frame per line), the comment-policy check and _SENTENCE_END, which this calls (they are
 * cached or short). generic.py's Python steps are the reference; tests and the self-check compare the two. */
static PyObject *rule_label_weight, *rule_label_is_widget, *rule_style_hides, *rule_phrases_match, *rule_comment_policy;
static PyObject *rights_text, *sentence_end, *para_break;
enum { MIN_SCORED = 25, BOILERPLATE_BELOW = 200 }; /* generic._MIN_SCORED, boilerplate.is_boilerplate_text's length */
static const double MAX_CLASS_WEIGHT = 1.25, SIBLING_SHARE = 0.2, MAX_SHARE = 0.4;

static int call_bool(PyObject *rule, PyObject *arg) { /* bool(rule(arg)), or -1 */
    PyObject *out = PyObject_CallOneArg(rule, arg);
    if (out == NULL) return -1;
    int truth = PyObject_IsTrue(out);
    Py_DECREF(out);
    return truth;
}

/* boilerplate.is_boilerplate_text for a line shorter than BOILERPLATE_BELOW: PHRASES.match(line) or RIGHTS in
 * it. 1, 0, or -1 on an error. */
static int is_boilerplate(PyObject *line) {
    PyObject *match = PyObject_CallOneArg(rule_phrases_match, line);
    if (match == NULL) return -1;
    int found = match != Py_None;
    Py_DECREF(match);
    if (found) return 1;
    Py_ssize_t at = PyUnicode_Find(line, rights_text, 0, PyUnicode_GET_LENGTH(line), 1);
    return at == -2 ? -1 : at >= 0;
}

/* generic._class_weight: the last class and id attributes' label, weighed by generic._label_weight. */
static double class_weight(const lxb_node *node) {
    const lxb_attr *cls = NULL, *ident = NULL;
    if (node->type == NODE_ELEMENT)
        for (const lxb_attr *attr = ((const lxb_element *)node)->first_attr; attr != NULL; attr = attr->next) {
            uintptr_t id = attr_key(attr);
            if (id == ATTR_CLASS) cls = attr;
            else if (id == ATTR_ID) ident = attr;
        }
    PyObject *label = label_of(cls, ident);
    if (label == NULL) return -1.0;
    PyObject *out = PyObject_CallOneArg(rule_label_weight, label);
    Py_DECREF(label);
    if (out == NULL) return -1.0;
    double weight = PyFloat_AsDouble(out);
    Py_DECREF(out);
    return weight; /* -1.0 with an exception set on error; weights are never negative */
}

static void units_free(units_t *u) {
    for (Py_ssize_t i = 0; i < u->count; i++) {
        Py_XDECREF(u->text[i]);
        Py_XDECREF(u->line[i]);
    }
    PyMem_Free(u->index);
    PyMem_Free(u->length);
    PyMem_Free(u->link_length);
    PyMem_Free(u->commas);
    PyMem_Free(u->weight);
    PyMem_Free(u->text);
    PyMem_Free(u->line);
    PyMem_Free(u->own);
}

static int units_grow(units_t *u) {
    Py_ssize_t capacity = u->capacity ? u->capacity * 2 : 256;
    GROW(u, index);
    GROW(u, length);
    GROW(u, link_length);
    GROW(u, commas);
    GROW(u, weight);
    GROW(u, text);
    GROW(u, line);
    GROW(u, own);
    u->capacity = capacity;
    return 0;
}

/* Takes the references to text and line (NULL: built later by unit_strings). */
static int units_add(units_t *u, Py_ssize_t index, PyObject *text, PyObject *line, Py_ssize_t length,
                     Py_ssize_t link_length, int own, Py_ssize_t commas) {
    if (u->count == u->capacity && units_grow(u) < 0) {
        Py_XDECREF(text);
        Py_XDECREF(line);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t k = u->count++;
    u->index[k] = index;
    u->text[k] = text;
    u->line[k] = line;
    u->length[k] = length;
    u->link_length[k] = link_length;
    u->own[k] = (unsigned char)own;
    u->commas[k] = commas;
    /* _Units.weights(): 1 + commas + min(length / 100, 3), nothing for short or link-heavy blocks */
    double share = (double)length / 100.0;
    u->weight[k] = length < MIN_SCORED || link_length * 2 >= length ? 0.0
                                                                     : (double)(1 + commas) + (3.0 < share ? 3.0 : share);
    return 0;
}

/* [" ".join(piece.split()) for piece in text.split(PARA_BREAK)] */
static PyObject *normalised_pieces(PyObject *text) {
    PyObject *pieces = PyUnicode_Split(text, para_break, -1);
    if (pieces == NULL) return NULL;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(pieces); k++) {
        PyObject *piece = normalise(PyList_GET_ITEM(pieces, k));
        if (piece == NULL) {
            Py_DECREF(pieces);
            return NULL;
        }
        PyList_SetItem(pieces, k, piece); /* steals, and drops the old piece */
    }
    return pieces;
}

/* generic._mixed_block: the container's own inline text as one unit, or nothing when it has none. */
static int add_mixed_unit(units_t *u, Py_ssize_t index, lxb_node *node) {
    PyObject *pair = own_text_of(node), *pieces = NULL, *kept = NULL, *text = NULL;
    int status = -1;
    if (pair == NULL || (pieces = normalised_pieces(PyTuple_GET_ITEM(pair, 0))) == NULL || (kept = PyList_New(0)) == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(pieces); k++)
        if (PyUnicode_GET_LENGTH(PyList_GET_ITEM(pieces, k)) && PyList_Append(kept, PyList_GET_ITEM(pieces, k)) < 0)
            goto done;
    if ((text = PyUnicode_Join(para_break, kept)) == NULL) goto done;
    Py_ssize_t length = PyUnicode_GET_LENGTH(text) - (PyList_GET_SIZE(kept) ? PyList_GET_SIZE(kept) - 1 : 0);
    Py_ssize_t link_length = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
    if (link_length == -1 && PyErr_Occurred()) goto done;
    status = 0;
    if (length) {
        Py_INCREF(text);
        status = units_add(u, index, text, Py_NewRef(text), length, link_length, 1, count_commas(text));
    }
done:
    Py_XDECREF(pair);
    Py_XDECREF(pieces);
    Py_XDECREF(kept);
    Py_XDECREF(text);
    return status;
}

/* A block's text as UTF-8 bytes (valid ones: what decoding gives): the length of " ".join(text.split()) and
 * its commas, without building the str. 0 when the bytes are not valid UTF-8 (the caller decodes then). */
static int measure_utf8(const unsigned char *p, const unsigned char *end, Py_ssize_t *length, Py_ssize_t *commas) {
    Py_ssize_t chars = 0, words = 0, count = 0;
    int in_word = 0;
    Py_UCS4 c;
#ifdef __SSE2__
    const __m128i comma = _mm_set1_epi8(',');
#endif
    while (p < end) {
#ifdef __SSE2__
        if (end - p >= 16) { /* 16 ASCII bytes at once: characters, word starts and commas from masks */
            __m128i block = _mm_loadu_si128((const __m128i *)p);
            if (!_mm_movemask_epi8(block)) {
                unsigned letters = ~ascii_space_bits(block) & 0xFFFF;
                unsigned starts = letters & ~((letters << 1) | (unsigned)in_word);
                chars += popcount16(letters);
                words += popcount16(starts);
                count += popcount16((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, comma)));
                in_word = (int)(letters >> 15);
                p += 16;
                continue;
            }
        }
#endif
        if (!next_code_point(&p, end, &c)) return 0;
        if (is_space(c)) {
            in_word = 0;
            continue;
        }
        words += !in_word;
        in_word = 1;
        chars++;
        count += c == ',' || c == 0x060c;
    }
    *length = chars + (words ? words - 1 : 0);
    *commas = count;
    return 1;
}

/* normalise_text(text) -> " ".join(text.split()) by normalise (the same object when it is already so): for
 * the tests, as measure_text. */
static PyObject *normalise_text(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "normalise_text takes a str");
        return NULL;
    }
    return normalise(arg);
}

/* measure_text(data) -> (len(" ".join(text.split())), commas) or None for bytes that are not valid UTF-8:
 * measure_utf8 as the tests see it (the walk uses it inside paragraphs(), where an error shows only as a
 * score). */
static PyObject *measure_text(PyObject *self, PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "measure_text takes bytes");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t length, commas;
    if (!measure_utf8(p, p + PyBytes_GET_SIZE(arg), &length, &commas)) Py_RETURN_NONE;
    return Py_BuildValue("(nn)", length, commas);
}

/* The unit's text and normalised line (built when a chosen container needs them). */
static int unit_strings(arrays *a, units_t *u, Py_ssize_t at) {
    if (u->text[at] != NULL) return 0;
    PyObject *text = subtree_text(a->nodes[u->index[at]], 0);
    if (text == NULL) return -1;
    PyObject *line = normalise(text);
    if (line == NULL) {
        Py_DECREF(text);
        return -1;
    }
    u->text[at] = text;
    u->line[at] = line;
    return 0;
}

/* A text block's unit, measured on its bytes; decoded now only when they are not valid UTF-8. */
static int add_block_unit(arrays *a, units_t *u, Py_ssize_t i) {
    Py_ssize_t length, commas;
    shared_buffer.length = 0;
    if (gather_text(a->nodes[i], &shared_buffer, 0) < 0) return -1;
    const unsigned char *bytes = (const unsigned char *)(shared_buffer.data ? shared_buffer.data : "");
    int valid = measure_utf8(bytes, bytes + shared_buffer.length, &length, &commas);
    shared_release();
    if (valid) /* empty lines (image wrappers, spacers) are no units */
        return length ? units_add(u, i, NULL, NULL, length, a->links[i], 0, commas) : 0;
    PyObject *text = subtree_text(a->nodes[i], 0), *line = text == NULL ? NULL : normalise(text);
    if (line == NULL) {
        Py_XDECREF(text);
        return -1;
    }
    if (!PyUnicode_GET_LENGTH(line)) {
        Py_DECREF(text);
        Py_DECREF(line);
        return 0;
    }
    return units_add(u, i, text, line, PyUnicode_GET_LENGTH(line), a->links[i], 0, count_commas(text));
}

/* generic._collect_units: text blocks with text, and containers' own text, in document order. */
static int collect_units(arrays *a, units_t *u) {
    for (Py_ssize_t i = 0; i < a->count; i++) {
        if (a->kind[i] == 1) {
            if (add_block_unit(a, u, i) < 0) return -1;
        } else if (a->kind[i] == 2) {
            int own = has_own_text(a->nodes[i]);
            if (own < 0 || (own && add_mixed_unit(u, i, a->nodes[i]) < 0)) return -1;
        }
    }
    return 0;
}

typedef struct {
    Py_ssize_t key, rank; /* rank: position in the order of first votes */
    double base;
} ranked;

static int by_base_descending(const void *x, const void *y) { /* sorted(..., reverse=True) is stable */
    const ranked *a = x, *b = y;
    if (a->base != b->base) return a->base < b->base ? 1 : -1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* generic._pick_best: the highest base x class weight; class names read only while they could change it.
 * Returns the best element (score in *best_score), or -1 with an exception. */
static Py_ssize_t pick_best(arrays *a, const Py_ssize_t *voted, Py_ssize_t kept, const double *bases,
                            double *finals, unsigned char *has_final, double *best_score) {
    ranked *order = PyMem_Malloc((kept + 1) * sizeof(ranked));
    if (order == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t v = 0; v < kept; v++) order[v] = (ranked){voted[v], v, bases[voted[v]]};
    qsort(order, (size_t)kept, sizeof(ranked), by_base_descending);
    double top = 0.0;
    for (Py_ssize_t v = 0; v < kept; v++) {
        if (order[v].base * MAX_CLASS_WEIGHT < top) break;
        double weight = class_weight(a->nodes[order[v].key]);
        if (weight < 0 && PyErr_Occurred()) {
            PyMem_Free(order);
            return -1;
        }
        finals[order[v].key] = order[v].base * weight;
        has_final[order[v].key] = 1;
        if (finals[order[v].key] > top) top = finals[order[v].key];
    }
    PyMem_Free(order);
    Py_ssize_t best = -1;
    for (Py_ssize_t v = 0; v < kept; v++) /* ties: the first voted */
        if (has_final[voted[v]] && (best < 0 || finals[voted[v]] > finals[best])) best = voted[v];
    *best_score = finals[best];
    return best;
}

/* generic._with_siblings: the best container and the siblings whose score (x class weight) is a share of it. */
static Py_ssize_t with_siblings(arrays *a, Py_ssize_t best, double best_score, const double *bases,
                                const unsigned char *voted_flag, Py_ssize_t *chosen) {
    Py_ssize_t parent = a->parents[best], count = 0;
    if (parent < 0) {
        chosen[0] = best;
        return 1;
    }
    double threshold = SIBLING_SHARE * best_score;
    for (Py_ssize_t child = parent + 1; child < a->ends[parent]; child = a->ends[child]) {
        double base = voted_flag[child] ? bases[child] : 0.0;
        int take = child == best;
        if (!take && base * MAX_CLASS_WEIGHT >= threshold) {
            double weight = class_weight(a->nodes[child]);
            if (weight < 0 && PyErr_Occurred()) return -1;
            take = base * weight >= threshold;
        }
        if (take) chosen[count++] = child;
    }
    return count;
}

/* The rest of a widget verdict (2: the label decides, 3: display:none or the label), as generic does it. */
static int widget_confirmed(int verdict, PyObject *data) {
    if (verdict == 1) return 1;
    return call_bool(verdict == 2 ? rule_label_is_widget : rule_style_hides, data);
}

/* generic._widgets: outermost widget ranges in the container holding at most MAX_SHARE of its text. */
static Py_ssize_t widget_ranges(arrays *a, Py_ssize_t container, Py_ssize_t *starts, Py_ssize_t *stops) {
    Py_ssize_t found = 0, inside = 0, container_len = 0;
    for (Py_ssize_t i = container + 1; i < a->ends[container]; i++) {
        if (i < inside) continue;
        uintptr_t tag = a->tags[i];
        long bits = a->below[i];
        if (!IN(textual_tags, tag) && !(bits & textual_bits)) continue; /* holds no text block */
        int teaser = tag == tag_a && (bits & teaser_bits) != 0;
        if (!teaser && (tag == tag_a || tag == TAG_COMMENT)) continue; /* generic._NEVER_WIDGETS */
        PyObject *data;
        int verdict = widget_verdict(a->nodes[i], tag, teaser, &data);
        if (verdict > 0) verdict = widget_confirmed(verdict, data);
        Py_XDECREF(data);
        if (verdict < 0) return -1;
        if (!verdict) continue;
        if (!container_len) {
            container_len = fragments_stripped_length(a->nodes[container], 1);
            if (container_len < 0) return -1;
            if (!container_len) container_len = 1;
        }
        Py_ssize_t length = fragments_stripped_length(a->nodes[i], 1);
        if (length < 0) return -1;
        if ((double)length <= MAX_SHARE * (double)container_len) {
            starts[found] = i;
            stops[found++] = inside = a->ends[i];
        }
    }
    return found;
}

/* Appends line to out unless empty, seen or boilerplate. */
static int keep_line(PyObject *line, PyObject *seen, PyObject *out) {
    Py_ssize_t length = PyUnicode_GET_LENGTH(line);
    if (!length) return 0;
    int known = PySet_Contains(seen, line);
    if (known) return known < 0 ? -1 : 0;
    if (length < BOILERPLATE_BELOW) {
        int boilerplate = is_boilerplate(line);
        if (boilerplate) return boilerplate < 0 ? -1 : 0;
    }
    return PySet_Add(seen, line) < 0 || PyList_Append(out, line) < 0 ? -1 : 0;
}

/* generic._paragraphs_in: the lines of the container's units outside the widget ranges. */
static int container_lines(arrays *a, units_t *u, Py_ssize_t container, const Py_ssize_t *starts,
                           const Py_ssize_t *stops, Py_ssize_t ranges, PyObject *seen, PyObject *out) {
    Py_ssize_t at = 0, range = 0, end = a->ends[container];
    while (at < u->count && u->index[at] < container) at++; /* bisect_left */
    for (; at < u->count && u->index[at] < end; at++) {
        Py_ssize_t index = u->index[at];
        while (range < ranges && index >= stops[range]) range++;
        if ((range < ranges && index >= starts[range]) || u->link_length[at] * 2 > u->length[at]) continue;
        PyObject *pieces;
        if (unit_strings(a, u, at) < 0) return -1;
        if (u->own[at]) {
            pieces = normalised_pieces(u->text[at]);
        } else if (!(a->below[index] & bit_of(tag_br)) && PyUnicode_FindChar(u->text[at], 0x2029, 0,
                                                                              PyUnicode_GET_LENGTH(u->text[at]), 1) == -1) {
            pieces = PyList_New(1);
            if (pieces != NULL) PyList_SET_ITEM(pieces, 0, Py_NewRef(u->line[at]));
        } else {
            PyObject *text = subtree_text(a->nodes[index], 1);
            pieces = text == NULL ? NULL : normalised_pieces(text);
            Py_XDECREF(text);
        }
        if (pieces == NULL) return -1;
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(pieces); k++)
            if (keep_line(PyList_GET_ITEM(pieces, k), seen, out) < 0) {
                Py_DECREF(pieces);
                return -1;
            }
        Py_DECREF(pieces);
    }
    return 0;
}

static int is_sentence(PyObject *line) { /* generic._is_sentence */
    Py_ssize_t length = PyUnicode_GET_LENGTH(line);
    if (length >= 80) return 1;
    if (length < 25) return 0;
    Py_UCS4 last = PyUnicode_READ_CHAR(line, length - 1);
    return PyUnicode_FindChar(sentence_end, last, 0, PyUnicode_GET_LENGTH(sentence_end), 1) >= 0;
}

/* generic._trim_edges: a trailing comment-policy paragraph goes (at most 3 times), then short non-sentence
 * lines before the first and after the last sentence. */
static PyObject *trim_edges(PyObject *lines) {
    Py_ssize_t n = PyList_GET_SIZE(lines);
    for (int round = 0; round < 3; round++) {
        Py_ssize_t last = -1, sentences = 0;
        for (Py_ssize_t k = 0; k < n; k++)
            if (is_sentence(PyList_GET_ITEM(lines, k))) {
                last = k;
                sentences++;
            }
        if (sentences < 2) break;
        int policy = call_bool(rule_comment_policy, PyList_GET_ITEM(lines, last));
        if (policy < 0) return NULL;
        if (!policy) break;
        n = last;
    }
    Py_ssize_t first = -1, last = -1;
    for (Py_ssize_t k = 0; k < n; k++)
        if (is_sentence(PyList_GET_ITEM(lines, k))) {
            if (first < 0) first = k;
            last = k;
        }
    return first < 0 ? PyList_GetSlice(lines, 0, n) : PyList_GetSlice(lines, first, last + 1);
}

static PyObject *paragraphs_of(arrays *a) {
    units_t u = {0};
    Py_ssize_t n = a->count, *voted = NULL, *chosen = NULL, *starts = NULL, *stops = NULL;
    double *bases = NULL, *finals = NULL;
    unsigned char *voted_flag = NULL, *has_final = NULL;
    PyObject *lines = NULL, *seen = NULL, *result = NULL;
    if (collect_units(a, &u) < 0) goto done;
    if (!u.count) {
        result = PyList_New(0);
        goto done;
    }
    voted = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    chosen = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    starts = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    stops = PyMem_Calloc(n + 1, sizeof(Py_ssize_t));
    bases = PyMem_Calloc(n + 1, sizeof(double));
    finals = PyMem_Calloc(n + 1, sizeof(double));
    voted_flag = PyMem_Calloc(n + 1, 1);
    has_final = PyMem_Calloc(n + 1, 1);
    if (!voted || !chosen || !starts || !stops || !bases || !finals || !voted_flag || !has_final) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t kept = vote_core(a->parents, n, &u, voted, bases);
    if (kept < 0) goto done;
    if (!kept) {
        result = PyList_New(0);
        goto done;
    }
    for (Py_ssize_t v = 0; v < kept; v++) voted_flag[voted[v]] = 1;
    double best_score;
    Py_ssize_t best = pick_best(a, voted, kept, bases, finals, has_final, &best_score);
    if (best < 0) goto done;
    Py_ssize_t containers = with_siblings(a, best, best_score, bases, voted_flag, chosen);
    if (containers < 0 || (lines = PyList_New(0)) == NULL || (seen = PySet_New(NULL)) == NULL) goto done;
    for (Py_ssize_t c = 0; c < containers; c++) {
        Py_ssize_t ranges = widget_ranges(a, chosen[c], starts, stops);
        if (ranges < 0 || container_lines(a, &u, chosen[c], starts, stops, ranges, seen, lines) < 0) goto done;
    }
    result = trim_edges(lines);
done:
    units_free(&u);
    PyMem_Free(voted);
    PyMem_Free(chosen);
    PyMem_Free(starts);
    PyMem_Free(stops);
    PyMem_Free(bases);
    PyMem_Free(finals);
    PyMem_Free(voted_flag);
    PyMem_Free(has_final);
    Py_XDECREF(lines);
    Py_XDECREF(seen);
    return result;
}

static PyObject *paragraphs(PyObject *self, PyObject *arg) {
    if (!configured || rule_label_weight == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_lexwalk.configure() and configure_rules() were not called");
        return NULL;
    }
    lxb_node *body = node_of(arg);
    if (body == NULL) return NULL;
    arrays a = {0};
    PyObject *result = walk_tree(body, &a) < 0 ? NULL : paragraphs_of(&a);
    arrays_free(&a);
    return result;
}

static PyObject *configure_rules(PyObject *self, PyObject *args) {
    PyObject *weight, *is_widget, *hides, *phrases_match, *rights, *policy, *ends;
    if (!PyArg_ParseTuple(args, "OOOOUOU", &weight, &is_widget, &hides, &phrases_match, &rights, &policy, &ends))
        return NULL;
    PyObject *brk = PyUnicode_FromString("\u2029");
    if (brk == NULL) return NULL;
    Py_XSETREF(rule_label_weight, Py_NewRef(weight));
    Py_XSETREF(rule_label_is_widget, Py_NewRef(is_widget));
    Py_XSETREF(rule_style_hides, Py_NewRef(hides));
    Py_XSETREF(rule_phrases_match, Py_NewRef(phrases_match));
    Py_XSETREF(rights_text, Py_NewRef(rights));
    Py_XSETREF(rule_comment_policy, Py_NewRef(policy));
    Py_XSETREF(sentence_end, Py_NewRef(ends));
    Py_XSETREF(para_break, brk);
    Py_RETURN_NONE;
}

static int fill_table(PyObject *ids, unsigned char *table) {
    PyObject *iterator = PyObject_GetIter(ids), *item;
    if (iterator == NULL) return -1;
    while ((item = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t tag = PyLong_AsSsize_t(item);
        Py_DECREF(item);
        if (tag < 0 || tag >= TAG_LIMIT) {
            Py_DECREF(iterator);
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "tag id out of range");
            return -1;
        }
        table[tag] = 1;
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static int fill_bits(PyObject *mapping, long *values, unsigned char *present) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        Py_ssize_t tag = PyLong_AsSsize_t(key);
        long bits = PyLong_AsLong(value);
        if (PyErr_Occurred()) return -1;
        if (tag < 0 || tag >= TAG_LIMIT) {
            PyErr_SetString(PyExc_ValueError, "tag id out of range");
            return -1;
        }
        values[tag] = bits;
        if (present != NULL) present[tag] = 1;
    }
    return 0;
}

static int is_space_agrees(void) {
    for (Py_UCS4 c = 0; c < 0x110000; c++)
        if (is_space(c) != (Py_UNICODE_ISSPACE(c) != 0)) {
            PyErr_Format(PyExc_ValueError, "is_space differs from str.isspace at U+%04X", (unsigned)c);
            return 0;
        }
    return 1;
}

static PyObject *configure(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"junk", "bits", "blockers", "mixed", "inline", "a", "br", "textual", "keep", "ins",
                            "textual_bits", "teaser_bits", NULL};
    PyObject *junk, *bits, *block_rules, *mixed, *inline_ids, *textual, *keep;
    unsigned long long a, br, ins;
    long textual_mask, teaser_mask;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!OOKKOOKll", names, &junk, &PyDict_Type, &bits, &PyDict_Type,
                                     &block_rules, &mixed, &inline_ids, &a, &br, &textual, &keep, &ins, &textual_mask,
                                     &teaser_mask))
        return NULL;
    static int space_checked;
    if (!space_checked && !(space_checked = is_space_agrees())) return NULL;
    memset(textual_tags, 0, sizeof textual_tags);
    memset(keep_tags, 0, sizeof keep_tags);
    memset(junk_tags, 0, sizeof junk_tags);
    memset(mixed_tags, 0, sizeof mixed_tags);
    memset(inline_tags, 0, sizeof inline_tags);
    memset(has_blockers, 0, sizeof has_blockers);
    memset(tag_bits, 0, sizeof tag_bits);
    memset(blockers, 0, sizeof blockers);
    configured = 0;
    if (fill_table(junk, junk_tags) < 0 || fill_table(mixed, mixed_tags) < 0 || fill_table(inline_ids, inline_tags) < 0 ||
        fill_bits(bits, tag_bits, NULL) < 0 || fill_bits(block_rules, blockers, has_blockers) < 0 ||
        fill_table(textual, textual_tags) < 0 || fill_table(keep, keep_tags) < 0)
        return NULL;
    tag_ins = (uintptr_t)ins;
    textual_bits = textual_mask;
    teaser_bits = teaser_mask;
    tag_a = (uintptr_t)a;
    tag_br = (uintptr_t)br;
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(junk, bits, blockers, mixed, inline, a, br): the tag sets of generic.py"},
    {"walk", walk, METH_O,
     "walk(body_id) -> (ids, tags, parents, ends, below, links, blocks, block_texts, block_lines, block_commas, "
     "mixed_units); unlinks junk"},
    {"text", text, METH_O, "text(id): node.text(deep=True)"},
    {"text_with_breaks", text_with_breaks, METH_O, "text(deep=True) with U+2029 before each <br>"},
    {"stripped_len", stripped_len, METH_VARARGS, "stripped_len(id, deep): len(node.text(deep, strip=True))"},
    {"direct_text", direct_text, METH_O, "direct_text(id): node.text(deep=False)"},
    {"own_text", own_text, METH_O, "own_text(id) -> (inline text with U+2029 breaks, link text length)"},
    {"head_data", head_data, METH_VARARGS,
     "head_data(root_id, meta_tag, script_tag, link_tag, wanted) -> (meta values, ld_json_texts, canonical_href)"},
    {"first_element", first_element, METH_VARARGS, "first_element(root_id, tag_id) -> id or None: css_first(tag)"},
    {"author_element", author_element, METH_O,
     "author_element(root_id) -> None | (content, text) | False: fields' author selector, False when undecided"},
    {"json_dicts", json_dicts, METH_O, "json_dicts(data): metadata._walk, every dict of a JSON tree in its order"},
    {"date_sources", date_sources, METH_VARARGS,
     "date_sources(root_id, budget, time_tag, h1_tag) -> (time datetimes, date candidates, ids after each h1)"},
    {"encode_utf8", encode_utf8, METH_O,
     "encode_utf8(text) -> (text.encode('utf-8', 'ignore'), count of '<', whether 'Ø' or 'Ù' is in text)"},
    {"measure_text", measure_text, METH_O, "measure_text(data) -> (normalised length, commas) | None (for tests)"},
    {"normalise_text", normalise_text, METH_O, "normalise_text(text) -> ' '.join(text.split()) (for tests)"},
    {"scan_utf8", scan_utf8, METH_O,
     "scan_utf8(data) -> (0 not valid UTF-8 | 1 ASCII | 2 valid UTF-8, count of '<')"},
    {"widget_candidates", widget_candidates, METH_VARARGS,
     "widget_candidates(ids, tags, below, ends, container) -> [(index, verdict, label or attrs or None)]"},
    {"vote", vote, METH_VARARGS, "vote(parents, index, weights, lengths, link_lengths) -> {container: base score}"},
    {"paragraphs", paragraphs, METH_O, "paragraphs(body_id): generic.extract_paragraphs after the walk; unlinks junk"},
    {"configure_rules", configure_rules, METH_VARARGS,
     "configure_rules(label_weight, label_is_widget, style_hides, phrases_match, rights, comment_policy, sentence_end)"},
    {"attrs", attrs, METH_O, "attrs(id) -> {class, id, style, role, hidden, aria-hidden present}"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_lexwalk", "The generic extractor's walk in C.", -1,
                                    methods};

/* Bumped when a function's arguments or results change: native.py refuses a build of another version (pip
 * keeps the old file when a rebuild fails, and a call with the old shapes would fail on every page). */
enum { VERSION = 3 };

PyMODINIT_FUNC PyInit__lexwalk(void) {
    PyObject *module_object = PyModule_Create(&module);
    if (module_object != NULL && PyModule_AddIntConstant(module_object, "VERSION", VERSION) < 0) Py_CLEAR(module_object);
    return module_object;
}
