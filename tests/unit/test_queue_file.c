/* Unit tests for lib/queue_file: IDs, hashed paths, folder modes, create
 * (inode-based name, mode 0600), commit (C record, mode 0700), mapping and
 * locks, marking recipients done, moves into hashed queues. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "queue_file.h"

static char tmpdir[] = "/tmp/test_queue_file.XXXXXX";

static void test_ids(void **state)
{
    buf_t id = BUF_INIT;

    (void) state;
    queue_id_make(&id, 0xA724A3, 0x501F2);
    assert_string_equal(id.data, "501F2A724A3");
    queue_id_make(&id, 0x1, 15);
    assert_string_equal(id.data, "0000F1");
    queue_id_make(&id, 0xDEADBEEF, 999999);
    assert_string_equal(id.data, "F423FDEADBEEF");
    assert_true(queue_id_valid("501F2A724A3"));
    assert_true(queue_id_valid("3Pt2mN2VXxznjll"));
    assert_false(queue_id_valid("12345"));
    assert_false(queue_id_valid("501F2/724A3"));
    assert_false(queue_id_valid("../../etc/x"));
    assert_false(queue_id_valid("0123456789012345678901234567890123"));
    assert_true(queue_mode_complete(0700));
    assert_true(queue_mode_complete(0744));
    assert_false(queue_mode_complete(0600));
    assert_false(queue_mode_complete(0644));
    buf_release(&id);
}

static void test_paths(void **state)
{
    buf_t path = BUF_INIT;

    (void) state;
    queue_path(&path, QUEUE_INCOMING, "501F2A724A3");
    assert_string_equal(path.data, "incoming/501F2A724A3");
    queue_path(&path, QUEUE_DEFERRED, "501F2A724A3");
    assert_string_equal(path.data, "deferred/5/501F2A724A3");
    queue_path(&path, QUEUE_DEFER, "D421D908DA0");
    assert_string_equal(path.data, "defer/D/D421D908DA0");
    queue_path(&path, QUEUE_ACTIVE, "D421D908DA0");
    assert_string_equal(path.data, "active/D421D908DA0");
    buf_release(&path);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_dirs(void **state)
{
    (void) state;
    /* setup created them under "queue"; we are inside it now. */
    assert_int_equal(mode_of("."), 0755);
    assert_int_equal(mode_of("incoming"), 0700);
    assert_int_equal(mode_of("active"), 0700);
    assert_int_equal(mode_of("deferred"), 0700);
    assert_int_equal(mode_of("defer"), 0700);
    assert_int_equal(mode_of("bounce"), 0700);
    assert_int_equal(mode_of("hold"), 0700);
    assert_int_equal(mode_of("private"), 0700);
    assert_int_equal(mode_of("maildrop"), 01730);
    assert_int_equal(mode_of("public"), 02710);
    assert_int_equal(mode_of("pid"), 0755);
    /* Running again changes nothing and succeeds. */
    assert_int_equal(queue_dirs_create(".", getuid(), getgid(), (gid_t) -1), 0);
}

/* Counts the entries of a folder (without . and ..). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Writes a small complete message; *rcpt_offset gets the R record's offset. */
static queue_file_t *write_message(long *rcpt_offset, rec_size_info_t *info)
{
    queue_file_t *qf = queue_file_create(QUEUE_INCOMING);
    buf_t placeholder = BUF_INIT;
    rec_size_info_t zero = { 0, 0, 0, 0, 0, 0 };

    assert_non_null(qf);
    rec_size_format(&placeholder, &zero);
    queue_file_put(qf, REC_TYPE_SIZE, placeholder.data, placeholder.len);
    assert_int_equal(qf->offset, 2 + REC_SIZE_LEN);
    queue_file_printf(qf, REC_TYPE_TIME, "%ld %ld", 1700000000L, 5L);
    queue_file_puts(qf, REC_TYPE_FROM, "sender@example.test");
    *rcpt_offset = qf->offset;
    queue_file_puts(qf, REC_TYPE_RCPT, "rcpt@example.test");
    queue_file_put(qf, REC_TYPE_MESG, "", 0);
    memset(info, 0, sizeof(*info));
    info->data_offset = qf->offset;
    queue_file_puts(qf, REC_TYPE_NORM, "Subject: hi");
    queue_file_puts(qf, REC_TYPE_NORM, "");
    queue_file_puts(qf, REC_TYPE_NORM, "body");
    queue_file_put(qf, REC_TYPE_XTRA, "", 0);
    queue_file_put(qf, REC_TYPE_END, "", 0);
    info->content_size = 12 + 1 + 5;
    info->rcpt_count = 1;
    buf_release(&placeholder);
    return qf;
}

static void test_create_commit(void **state)
{
    rec_size_info_t info, got;
    queue_file_t *qf;
    queue_map_t qm;
    struct stat st;
    buf_t expect = BUF_INIT;
    char id[QUEUE_ID_MAX + 1];
    long rcpt_offset;
    size_t pos = 0;
    rec_t rec;
    int types[16], n = 0;

    (void) state;
    assert_int_equal(count_entries(QUEUE_INCOMING), 0);
    qf = write_message(&rcpt_offset, &info);
    /* Final name at once, embryonic mode, named after its inode. */
    assert_int_equal(count_entries(QUEUE_INCOMING), 1);
    assert_int_equal(stat(qf->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_true(queue_id_valid(qf->id));
    buf_printf(&expect, "incoming/%s", qf->id);
    assert_string_equal(qf->path, expect.data);
    buf_reset(&expect);
    buf_printf(&expect, "%lX", (unsigned long) st.st_ino);
    assert_string_equal(qf->id + 5, expect.data);
    memcpy(id, qf->id, sizeof(id));

    assert_int_equal(queue_file_commit(qf, &info), 0);
    assert_int_equal(qf->fd, -1);
    queue_file_free(qf);

    buf_reset(&expect);
    queue_path(&expect, QUEUE_INCOMING, id);
    assert_int_equal(queue_map_open(expect.data, 1, &qm), 0);
    assert_int_equal(qm.st.st_mode & 07777, 0700);
    assert_true(queue_mode_complete(qm.st.st_mode));
    while (n < 16 && rec_parse(qm.data, qm.size, &pos, &rec) == 1) {
        types[n++] = rec.type;
        if (rec.type == REC_TYPE_SIZE) {
            assert_int_equal(rec.len, REC_SIZE_LEN);
            assert_int_equal(rec_size_parse(rec.data, rec.len, &got), 0);
            assert_memory_equal(&got, &info, sizeof(got));
        }
        if (rec.type == REC_TYPE_RCPT)
            assert_int_equal((long) rec.offset, rcpt_offset);
    }
    assert_int_equal(pos, qm.size);
    assert_int_equal(n, 10);
    assert_int_equal(types[0], 'C');
    assert_int_equal(types[4], 'M');
    assert_int_equal(types[9], 'E');
    queue_map_close(&qm);
    assert_int_equal(unlink(expect.data), 0);
    buf_release(&expect);
}

static void test_commit_without_placeholder(void **state)
{
    rec_size_info_t info = { 0, 10, 1, 0, 0, 0 };
    queue_file_t *qf = queue_file_create(QUEUE_INCOMING);
    buf_t path = BUF_INIT;

    (void) state;
    assert_non_null(qf);
    buf_set(&path, qf->path);
    queue_file_puts(qf, REC_TYPE_FROM, "x@example.test");
    assert_int_equal(queue_file_commit(qf, &info), -1);
    assert_int_equal(access(path.data, F_OK), -1);      /* removed */
    queue_file_free(qf);
    buf_release(&path);
}

static void test_abort(void **state)
{
    queue_file_t *qf = queue_file_create(QUEUE_INCOMING);
    buf_t path = BUF_INIT;

    (void) state;
    assert_non_null(qf);
    buf_set(&path, qf->path);
    assert_int_equal(access(path.data, F_OK), 0);
    queue_file_abort(qf);
    assert_int_equal(access(path.data, F_OK), -1);
    assert_int_equal(count_entries(QUEUE_INCOMING), 0);
    buf_release(&path);
}

static void test_mark_done_and_locks(void **state)
{
    rec_size_info_t info;
    queue_file_t *qf;
    queue_map_t qm, other;
    buf_t path = BUF_INIT;
    long rcpt_offset;

    (void) state;
    qf = write_message(&rcpt_offset, &info);
    assert_int_equal(queue_file_commit(qf, &info), 0);
    buf_set(&path, qf->path);
    queue_file_free(qf);

    assert_int_equal(queue_map_open(path.data, 2, &qm), 0);
    /* Someone holds it exclusively: shared and exclusive both fail at once. */
    assert_int_equal(queue_map_open(path.data, 1, &other), -1);
    assert_int_equal(errno, EWOULDBLOCK);
    assert_int_equal(other.fd, -1);
    assert_int_equal(queue_map_open(path.data, 0, &other), 0);   /* no lock: fine */
    queue_map_close(&other);

    assert_int_equal(qm.data[rcpt_offset], 'R');
    assert_int_equal(queue_mark_done(qm.fd, rcpt_offset), 0);
    assert_int_equal(qm.data[rcpt_offset], 'D');               /* seen through the map */
    assert_int_equal(queue_mark_done(qm.fd, rcpt_offset), -1); /* already done */
    assert_int_equal(queue_mark_done(qm.fd, rcpt_offset - 2), -1);  /* not a record start */
    assert_int_equal(queue_mark_done(qm.fd, 0), -1);           /* the C record */
    assert_int_equal(queue_mark_done(qm.fd, (long) qm.size + 10), -1);
    queue_map_close(&qm);

    assert_int_equal(queue_map_open(path.data, 1, &qm), 0);
    assert_int_equal(queue_map_open(path.data, 1, &other), 0);  /* two shared */
    assert_int_equal(qm.data[rcpt_offset], 'D');
    queue_map_close(&other);
    queue_map_close(&qm);
    assert_int_equal(unlink(path.data), 0);
    assert_int_equal(queue_map_open(path.data, 0, &qm), -1);
    assert_int_equal(errno, ENOENT);
    buf_release(&path);
}

static void test_move_hashed(void **state)
{
    rec_size_info_t info;
    queue_file_t *qf;
    buf_t path = BUF_INIT, sub = BUF_INIT;
    char id[QUEUE_ID_MAX + 1];
    long rcpt_offset;

    (void) state;
    qf = write_message(&rcpt_offset, &info);
    assert_int_equal(queue_file_commit(qf, &info), 0);
    memcpy(id, qf->id, sizeof(id));
    queue_file_free(qf);

    buf_printf(&sub, "deferred/%c", id[0]);
    assert_int_equal(access(sub.data, F_OK), -1);
    assert_int_equal(queue_move(QUEUE_INCOMING, QUEUE_DEFERRED, id), 0);
    assert_int_equal(mode_of(sub.data), 0700);            /* created on demand */
    queue_path(&path, QUEUE_DEFERRED, id);
    assert_int_equal(mode_of(path.data), 0700);
    assert_int_equal(count_entries(QUEUE_INCOMING), 0);

    assert_int_equal(queue_move(QUEUE_DEFERRED, QUEUE_ACTIVE, id), 0);
    queue_path(&path, QUEUE_ACTIVE, id);
    assert_int_equal(access(path.data, F_OK), 0);
    assert_int_equal(queue_move(QUEUE_DEFERRED, QUEUE_ACTIVE, id), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(queue_move(QUEUE_ACTIVE, QUEUE_INCOMING, "../x/y"), -1);
    assert_int_equal(unlink(path.data), 0);
    buf_release(&path);
    buf_release(&sub);
}

static int group_setup(void **state)
{
    buf_t path = BUF_INIT;
    FILE *fp;

    (void) state;
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    buf_printf(&path, "%s/main.cf", tmpdir);
    fp = fopen(path.data, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "queue_directory = %s/queue\nhash_queue_depth = 1\n", tmpdir);
    fclose(fp);
    config_load(tmpdir);
    buf_reset(&path);
    buf_printf(&path, "%s/queue", tmpdir);
    if (queue_dirs_create(path.data, getuid(), getgid(), (gid_t) -1) < 0
        || chdir(path.data) < 0)
        return -1;
    buf_release(&path);
    return 0;
}

static int group_teardown(void **state)
{
    buf_t cmd = BUF_INIT;
    int r;

    (void) state;
    buf_printf(&cmd, "rm -rf %s", tmpdir);
    r = system(cmd.data);
    buf_release(&cmd);
    return r == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_create_commit),
        cmocka_unit_test(test_commit_without_placeholder),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_mark_done_and_locks),
        cmocka_unit_test(test_move_hashed),
    };

    umask(022);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
