/*
 * Split DWARF: a skeleton unit has only the line table of its code; its
 * functions and inline calls are in a split unit of a .dwo (named by
 * DW_AT_dwo_name, relative to DW_AT_comp_dir, or beside the file) or of a
 * .dwp package beside the file (dwp.c reads its unit index).  The split
 * unit is walked by dwarf.c's walker with a second reader that borrows the
 * skeleton's .debug_addr and bases.
 */
#include <stdio.h>
#include <string.h>

#include "dwarf_walk.h"
#include "tm_alloc.h"

/* Opens the package beside the file (FILE.dwp, or for FILE.debug also
 * FILE.dwp without the suffix), once. */
static int dwp_open(walker *w)
{
    if (w->dwp_tried || !w->e || !w->e->path)
        return TM_OK;
    w->dwp_tried = 1;
    char path[4096], note[SYM_NOTE_MAX] = "";
    size_t n = strlen(w->e->path);
    for (int k = 0; k < 2 && !w->dwp; k++) {
        if (k == 1 && (n < 6 || strcmp(w->e->path + n - 6, ".debug") != 0))
            break;
        snprintf(path, sizeof path, "%.*s.dwp", (int)(k ? n - 6 : n), w->e->path);
        int rc = sym_elf_open(path, &w->dwp, note, sizeof note);
        if (rc == TM_ENOMEM)
            return rc;
        if (rc != TM_OK) {
            if (rc != TM_ENOTFOUND)
                walker_degraded(w, "split DWARF: %s", note);
            w->dwp = NULL;
        }
    }
    if (!w->dwp)
        return TM_OK;
    int rc = sym_dwo_sections(w->dwp, &w->dwp_sec, &w->dwp_index, note, sizeof note);
    if (rc == TM_OK && !w->dwp_index.n) {
        snprintf(note, sizeof note, "%s has no .debug_cu_index", w->dwp->path);
        rc = TM_EFORMAT;
    }
    if (rc != TM_OK) {
        if (rc != TM_ENOMEM)
            walker_degraded(w, "split DWARF: %s", note);
        sym_elf_close(w->dwp);
        w->dwp = NULL;
    }
    return rc == TM_ENOMEM ? rc : TM_OK;
}

/* Reads the split unit id of sections sec (a .dwo, or a package's slice)
 * for skeleton sk, whose root DIE is skroot.  `where` names the file. */
static int walk_split(walker *w, dw_unit *sk, const die_attrs *skroot, const dw_sections *sec,
                      uint64_t id, const char *where)
{
    dw_reader sr;
    char hnote[SYM_NOTE_MAX] = "";
    int rc = dw_reader_init(&sr, sec, hnote, sizeof hnote);
    if (rc != TM_OK)
        return rc;
    if (hnote[0])
        walker_error(w, "%s: %s", where, hnote);
    dw_unit *su = NULL;
    size_t nsplit = 0;
    for (size_t i = 0; i < sr.nunits && !su; i++) {
        dw_unit *c = &sr.units[i];
        if (c->version >= 5) {
            if (c->unit_type != 5)
                continue;
            nsplit++;
            if (c->has_dwo_id && c->dwo_id == id)
                su = c;
            continue;
        }
        /* DWARF 4 (GNU): the id is an attribute of the unit's root DIE */
        char note[SYM_NOTE_MAX];
        rc = dw_unit_abbrevs(&sr, c, note, sizeof note);
        if (rc == TM_ENOMEM)
            break;
        rc = TM_OK;
        sym_cur cur = dw_cursor(&sr, c, c->die);
        uint64_t code;
        const dw_abbrev *a = dw_die_begin(c, &cur, &code);
        die_attrs d;
        if (!a || read_attrs_of(w, &sr, c, &cur, a, &d) != 0)
            continue;
        nsplit++;
        uint64_t v;
        if (has(&d, K_dwo_id) && dw_val_unsigned(&d.v[K_dwo_id], &v) && v == id)
            su = c;
    }
    if (rc == TM_OK && !su && nsplit)
        walker_degraded(w,
                        "split DWARF: %s has no unit with dwo_id 0x%llx (out of date?): inline "
                        "frames of its code are missing",
                        where, (unsigned long long)id);
    else if (rc == TM_OK && !su)
        walker_error(w, "%s: no split unit", where);
    if (rc != TM_OK || !su) {
        dw_reader_free(&sr);
        return rc;
    }
    /* The split unit's addresses are in the skeleton's file. */
    su->addr_base = sk->addr_base;
    su->has_addr_base = sk->has_addr_base;
    dw_unit_bases(&sr, su);
    if (!su->has_str_offsets_base) { /* implied: after the section's header */
        su->str_offsets_base = su->version >= 5 ? (su->offsize == 8 ? 16 : 8) : 0;
        su->has_str_offsets_base = 1;
    }
    if (!su->has_rnglists_base && su->version >= 5) {
        su->rnglists_base = su->offsize == 8 ? 20 : 12;
        su->has_rnglists_base = 1;
    }
    uint64_t rb;
    if (has(skroot, K_ranges_base) && dw_val_unsigned(&skroot->v[K_ranges_base], &rb))
        su->ranges_base = rb;
    else if (has(skroot, K_ranges_base) && skroot->v[K_ranges_base].form == 0x17)
        su->ranges_base = skroot->v[K_ranges_base].u;
    if (!su->base_addr)
        su->base_addr = sk->base_addr;

    dw_reader keep = w->r;
    dw_unit *keep_u = w->u;
    w->r = sr;
    w->u = su;
    origins_reset(w);
    sym_cur c = dw_cursor(&w->r, su, su->die);
    uint64_t code;
    const dw_abbrev *a = dw_die_begin(su, &c, &code);
    if (!a)
        walker_error(w, "%s: bad split unit DIE", where);
    else if (dw_skip_attrs(&w->r, su, &c, a) != 0)
        walker_error(w, "%s: malformed split unit DIE", where);
    else if (a->children)
        rc = walk_unit(w, su, &c);
    dw_reader_free(&w->r);
    w->r = keep;
    w->u = keep_u;
    origins_reset(w);
    return rc;
}

/* Skeleton unit sk (root DIE skroot): finds its split unit, in the package
 * beside the file or in its .dwo (the name as given, relative to comp_dir,
 * beside the file), and reads its functions and inline calls. */
int split_unit(walker *w, dw_unit *sk, const die_attrs *skroot, const char *comp_dir)
{
    uint64_t id = sk->dwo_id;
    if (!sk->has_dwo_id && !(has(skroot, K_dwo_id) && dw_val_unsigned(&skroot->v[K_dwo_id], &id)))
        return TM_OK; /* not split after all */
    const char *name = NULL;
    if (has(skroot, K_dwo_name))
        dw_val_string(&w->r, sk, &skroot->v[K_dwo_name], &name);
    char note[SYM_NOTE_MAX] = "", where[4096];
    snprintf(where, sizeof where, "%s", name ? name : "the .dwo");
    dw_sections sec;
    int found = 0, rc = TM_OK;
    sym_elf *f = NULL;
    const dw_sections *whole = NULL;
    const dw_bytes *index = NULL;
    if (w->ext) {
        whole = w->ext->dwo;
        index = w->ext->cu_index;
        if (whole && !index) {
            sec = *whole;
            found = 1;
        }
    } else {
        if ((rc = dwp_open(w)) != TM_OK)
            return rc;
        if (w->dwp) {
            whole = &w->dwp_sec;
            index = &w->dwp_index;
            snprintf(where, sizeof where, "%s", w->dwp->path);
        }
    }
    if (whole && index) {
        dw_dwp_row row;
        int k = dw_cu_index_find(index, whole->msb, id, &row, note, sizeof note);
        if (k == 1 && dw_dwp_slice(whole, &row, &sec, note, sizeof note) == 0)
            found = 1;
        else if (k != 0)
            walker_error(w, "%s: %s", where, note);
    }
    if (!found && !w->ext && w->e && name) {
        char path[4096];
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        /* beside the binary too: a stripped binary's .dwo files stay with it
         * when its debug file is elsewhere */
        const char *bin = w->e->binary_path;
        for (int k = 0; k < 6 && !f; k++) {
            if (k == 0 && name[0] != '/')
                continue;
            if (k == 0)
                snprintf(path, sizeof path, "%s", name);
            else if (k == 1 && comp_dir && name[0] != '/')
                sym_path_join(path, sizeof path, comp_dir, name);
            else if (k == 2 && name[0] != '/')
                sym_path_beside(path, sizeof path, w->e->path, name);
            else if (k == 3)
                sym_path_beside(path, sizeof path, w->e->path, base);
            else if (k == 4 && bin && name[0] != '/')
                sym_path_beside(path, sizeof path, bin, name);
            else if (k == 5 && bin)
                sym_path_beside(path, sizeof path, bin, base);
            else
                continue;
            rc = sym_elf_open(path, &f, note, sizeof note);
            if (rc == TM_ENOMEM)
                return rc;
            if (rc != TM_OK) {
                f = NULL;
                if (rc != TM_ENOTFOUND)
                    walker_error(w, "%s", note);
            }
        }
        rc = TM_OK;
        if (f) {
            snprintf(where, sizeof where, "%s", f->path);
            rc = sym_dwo_sections(f, &sec, NULL, note, sizeof note);
            if (rc == TM_OK)
                found = 1;
            else if (rc != TM_ENOMEM)
                walker_error(w, "%s", note);
        }
    }
    if (rc == TM_OK && !found)
        walker_degraded(w,
                        "split DWARF: %s not found (nor a .dwp beside the file): inline frames "
                        "of its code are missing",
                        name ? name : "a .dwo");
    if (rc == TM_OK && found) {
        sec.addr = w->r.sec.addr;
        sec.ranges = w->r.sec.ranges;
        memset(&sec.sup_str, 0, sizeof sec.sup_str);
        rc = walk_split(w, sk, skroot, &sec, id, where);
    }
    if (f)
        sym_elf_close(f);
    return rc;
}
