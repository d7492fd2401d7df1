/* test_haproxy_api.c - the pure parts of cluster/haproxy_api.h: runtime API
 * commands written with their names checked (a service name cannot smuggle a
 * second command), HAProxy's answers told apart, `show stat` CSV (a real
 * HAProxy 2.6 header, columns found by name), the request log line, and the
 * adaptive weight rule L_i = w_i / sum(w) x lambda. The runtime API client
 * itself talks to a real unix socket served by a thread here. Runs without
 * haproxy installed; tests/cli_cluster_haproxy.sh drives the real one.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/haproxy_api.h"

static void test_names_checked(void **state)
{
    (void)state;
    assert_true(rls_haproxy_name_ok("api"));
    assert_true(rls_haproxy_name_ok("web-1.v2_x"));
    assert_false(rls_haproxy_name_ok(""));
    assert_false(rls_haproxy_name_ok(NULL));
    assert_false(rls_haproxy_name_ok("a b"));
    assert_false(rls_haproxy_name_ok("api;del"));
    assert_false(rls_haproxy_name_ok("api/w1"));
    assert_false(rls_haproxy_name_ok("api\nshow info"));
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_false(rls_haproxy_name_ok(long_name));
}

static void test_commands_formatted(void **state)
{
    char buf[256];
    (void)state;
    size_t n = rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "127.0.0.1", 41234, 0, 2);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "add server api/w3 127.0.0.1:41234 weight 0 maxconn 2 check inter 200 fastinter 100 "
                             "downinter 200 rise 1 fall 2 disabled");
    assert_int_not_equal(rls_haproxy_fmt_server(buf, sizeof buf, "enable server", "api", "w3"), 0);
    assert_string_equal(buf, "enable server api/w3");
    assert_int_not_equal(rls_haproxy_fmt_server(buf, sizeof buf, "del server", "api", "w3"), 0);
    assert_string_equal(buf, "del server api/w3");
    assert_int_not_equal(rls_haproxy_fmt_set_state(buf, sizeof buf, "api", "w3", "drain"), 0);
    assert_string_equal(buf, "set server api/w3 state drain");
    assert_int_not_equal(rls_haproxy_fmt_set_weight(buf, sizeof buf, "api", "w3", 57), 0);
    assert_string_equal(buf, "set server api/w3 weight 57");
    /* refused: bad names, numbers, verbs, states, room */
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api; shutdown", "w3", "127.0.0.1", 1, 0, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "localhost", 1, 0, 1), 0);
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "127.0.0.1", 0, 0, 1), 0);
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "127.0.0.1", 70000, 0, 1), 0);
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "127.0.0.1", 80, 257, 1), 0);
    assert_int_equal(rls_haproxy_fmt_add_server(buf, sizeof buf, "api", "w3", "127.0.0.1", 80, 1, 0), 0);
    assert_int_equal(rls_haproxy_fmt_add_server(buf, 20, "api", "w3", "127.0.0.1", 80, 1, 1), 0);
    assert_int_equal(rls_haproxy_fmt_server(buf, sizeof buf, "shutdown frontend", "api", "w3"), 0);
    assert_int_equal(rls_haproxy_fmt_set_state(buf, sizeof buf, "api", "w3", "up"), 0);
    assert_int_equal(rls_haproxy_fmt_set_weight(buf, sizeof buf, "api", "w3", -1), 0);
    assert_int_equal(rls_haproxy_fmt_set_weight(buf, sizeof buf, "api", "w 3", 1), 0);
}

static void test_replies_told_apart(void **state)
{
    (void)state;
    assert_true(rls_haproxy_reply_ok("\n"));
    assert_true(rls_haproxy_reply_ok(""));
    assert_true(rls_haproxy_reply_ok("New server registered.\n\n"));
    assert_true(rls_haproxy_reply_ok("Server deleted.\n"));
    assert_false(rls_haproxy_reply_ok("Only servers in maintenance mode can be deleted.\n"));
    assert_false(rls_haproxy_reply_ok("No such server.\n"));
    assert_false(rls_haproxy_reply_ok("Unknown command. Please enter one of the following commands only :\n"));
    assert_false(rls_haproxy_reply_ok(NULL));
}

/* the header and rows as HAProxy 2.6.12 writes them (cut after check_status's neighbours) */
static const char *s_stat =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
    "act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
    "check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
    "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,"
    "qtime,ctime,rtime,ttime,\n"
    "rls_http,FRONTEND,,,3,7,4096,120,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,5,0,9,,,,0,118,0,2,0,0,,5,9,120,,,0,0,0,0,,"
    ",,,,,,\n"
    "api,w1,0,0,1,1,2,57,0,0,,0,,0,0,0,0,UP,41,1,0,0,0,3,0,,1,5,1,,57,,2,2,,4,L7OK,200,1,0,57,0,0,0,0,,,,57,0,0,,,,,0,"
    "OK,,0,0,9,10,\n"
    "api,w2,2,3,2,2,2,40,0,0,,0,,0,0,0,0,DRAIN,0,1,0,0,0,3,0,,1,5,2,,40,,2,1,,3,L7OK,200,1,0,40,0,0,0,0,,,,40,0,0,,,,,"
    "0,OK,,0,0,31,33,\n"
    "api,w3,0,0,0,0,1,0,0,0,,0,,0,0,0,0,DOWN,0,1,0,1,1,0,1,,1,5,3,,0,,2,0,,0,L7STS,503,1,0,0,0,0,0,0,,,,0,0,0,,,,,-1,"
    ",,0,0,0,0,\n"
    "api,BACKEND,5,9,3,4,410,97,0,0,0,0,,0,0,0,0,UP,41,1,0,,0,3,0,,1,5,0,,97,,1,4,,6,,,,0,97,0,0,0,0,,,,97,0,0,0,0,0,0,"
    "0,,,0,0,17,20,\n"
    "\n";

static void test_show_stat_parsed(void **state)
{
    struct rls_haproxy_stat rows[8];
    (void)state;
    int32_t n = rls_haproxy_parse_stat(s_stat, rows, 8);
    assert_int_equal(n, 5);
    assert_string_equal(rows[0].backend, "rls_http");
    assert_string_equal(rows[0].server, "FRONTEND");
    assert_int_equal(rows[0].qcur, -1);     /* empty for a frontend */
    assert_string_equal(rows[1].backend, "api");
    assert_string_equal(rows[1].server, "w1");
    assert_string_equal(rows[1].status, "UP");
    assert_string_equal(rows[1].check_status, "L7OK");
    assert_int_equal(rows[1].scur, 1);
    assert_int_equal(rows[1].stot, 57);
    assert_int_equal(rows[1].weight, 41);
    assert_int_equal(rows[1].rtime_ms, 9);
    assert_string_equal(rows[2].status, "DRAIN");
    assert_int_equal(rows[2].qcur, 2);
    assert_int_equal(rows[2].scur, 2);
    assert_string_equal(rows[3].check_status, "L7STS");
    assert_string_equal(rows[4].server, "BACKEND");
    assert_int_equal(rows[4].qcur, 5);
    /* counting only, and a smaller array */
    assert_int_equal(rls_haproxy_parse_stat(s_stat, NULL, 0), 5);
    assert_int_equal(rls_haproxy_parse_stat(s_stat, rows, 2), 5);
    /* not show stat */
    assert_int_equal(rls_haproxy_parse_stat("Unknown command.\n", rows, 8), RLS_ERR_PARSE);
    assert_int_equal(rls_haproxy_parse_stat("# pxname,qcur\nx,1\n", rows, 8), RLS_ERR_PARSE);
    assert_int_equal(rls_haproxy_parse_stat(NULL, rows, 8), RLS_ERR_PARSE);
}

static void test_log_line_parsed(void **state)
{
    struct rls_haproxy_logrec r;
    const char *ok = "rlsreq api w2 200 14 3 0 11 --\n";
    const char *noserver = "<134>Jan  1 00:00:00 haproxy[7]: rlsreq batch <NOSRV> 503 5000 5000 -1 -1 sQ";
    (void)state;
    assert_int_equal(rls_haproxy_parse_log(ok, strlen(ok), &r), RLS_OK);
    assert_string_equal(r.backend, "api");
    assert_string_equal(r.server, "w2");
    assert_int_equal(r.status, 200);
    assert_int_equal(r.ta_ms, 14);
    assert_int_equal(r.tw_ms, 3);
    assert_int_equal(r.tc_ms, 0);
    assert_int_equal(r.tr_ms, 11);
    assert_string_equal(r.term, "--");
    assert_int_equal(rls_haproxy_parse_log(noserver, strlen(noserver), &r), RLS_OK);
    assert_string_equal(r.server, "<NOSRV>");
    assert_int_equal(r.status, 503);
    assert_int_equal(r.tr_ms, -1);
    assert_string_equal(r.term, "sQ");
    /* only part of the line: not taken */
    assert_int_equal(rls_haproxy_parse_log(ok, 12, &r), RLS_ERR_PARSE);
    assert_int_equal(rls_haproxy_parse_log("Server api/w1 is UP", 19, &r), RLS_ERR_PARSE);
    assert_int_equal(rls_haproxy_parse_log("rlsreq a b x 1 2 3 4 --", 23, &r), RLS_ERR_PARSE);
}

static void test_adaptive_weights(void **state)
{
    double lat[3] = { 10.0, 20.0, 40.0 }, share[3];
    int32_t w[3];
    (void)state;
    assert_int_equal(rls_haproxy_adaptive_weights(lat, 3, 32, w, share), RLS_OK);
    /* w_i = 1/lat: 0.1, 0.05, 0.025 -> shares 4/7, 2/7, 1/7 */
    assert_true(fabs(share[0] - 4.0 / 7.0) < 1e-12);
    assert_true(fabs(share[1] - 2.0 / 7.0) < 1e-12);
    assert_true(fabs(share[2] - 1.0 / 7.0) < 1e-12);
    assert_int_equal(w[0], 55);     /* round(32 x 3 x 4/7) */
    assert_int_equal(w[1], 27);
    assert_int_equal(w[2], 14);
    /* lambda x share: a rate of 70 req/s splits 40 / 20 / 10 */
    assert_true(fabs(70.0 * share[0] - 40.0) < 1e-9 && fabs(70.0 * share[2] - 10.0) < 1e-9);
    /* equal latencies: equal weights (round robin) */
    double eq[4] = { 5, 5, 5, 5 };
    int32_t we[4];
    assert_int_equal(rls_haproxy_adaptive_weights(eq, 4, 32, we, NULL), RLS_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(we[i], 32);
    /* not measured yet: the mean of the measured ones; none measured: equal */
    double un[3] = { 10.0, 0.0, 30.0 };
    assert_int_equal(rls_haproxy_adaptive_weights(un, 3, 32, w, share), RLS_OK);
    assert_true(fabs(share[1] - (1.0 / 20.0) / (1.0 / 10 + 1.0 / 20 + 1.0 / 30)) < 1e-12);
    double none[2] = { 0.0, -1.0 };
    assert_int_equal(rls_haproxy_adaptive_weights(none, 2, 32, w, NULL), RLS_OK);
    assert_int_equal(w[0], 32);
    assert_int_equal(w[1], 32);
    /* clamped to HAProxy's 1..256 */
    double skew[2] = { 0.01, 1000.0 };
    assert_int_equal(rls_haproxy_adaptive_weights(skew, 2, 128, w, NULL), RLS_OK);
    assert_int_equal(w[0], 256);
    assert_int_equal(w[1], 1);
    assert_int_equal(rls_haproxy_adaptive_weights(NULL, 2, 32, w, NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_haproxy_adaptive_weights(lat, 0, 32, w, NULL), RLS_ERR_INVALID);
    assert_int_equal(rls_haproxy_adaptive_weights(lat, 3, 0, w, NULL), RLS_ERR_INVALID);
}

/* A one-shot runtime API: reads a line, answers, closes (as HAProxy does). */
struct s_fake {
    int fd;
    char got[256];
    const char *answer;
};

static void *s_serve_one(void *arg)
{
    struct s_fake *f = arg;
    int c = accept(f->fd, NULL, NULL);
    size_t n = 0;
    if (c < 0)
        return NULL;
    while (n < sizeof f->got - 1) {
        ssize_t k = read(c, f->got + n, 1);
        if (k <= 0 || f->got[n] == '\n')
            break;
        n++;
    }
    f->got[n] = '\0';
    if (f->answer != NULL && write(c, f->answer, strlen(f->answer)) < 0)
        f->got[0] = '!';
    close(c);
    return NULL;
}

static void test_api_call_over_a_socket(void **state)
{
    char dir[] = "/tmp/rls_test_hapi.XXXXXX", path[64];
    struct sockaddr_un sa;
    struct s_fake f;
    pthread_t th;
    char *reply = NULL;
    struct rls_err err = { 0 };
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/admin.sock", dir);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    memset(&f, 0, sizeof f);
    f.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(f.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(f.fd, 4), 0);
    f.answer = "New server registered.\n\n";
    assert_int_equal(pthread_create(&th, NULL, s_serve_one, &f), 0);
    assert_int_equal(rls_haproxy_api_call(path, "add server api/w1 127.0.0.1:9 weight 0 maxconn 1", 2000, &reply, &err),
                     RLS_OK);
    pthread_join(th, NULL);
    assert_string_equal(f.got, "add server api/w1 127.0.0.1:9 weight 0 maxconn 1");
    assert_string_equal(reply, "New server registered.\n\n");
    assert_true(rls_haproxy_reply_ok(reply));
    free(reply);
    /* a peer that never answers: a timeout, not a hang */
    f.answer = NULL;
    reply = NULL;
    assert_int_equal(rls_haproxy_api_call(path, "show stat", 200, &reply, &err), RLS_ERR_IO);
    assert_null(reply);
    assert_non_null(strstr(err.msg, "within 200 ms"));
    /* refused before sending: two commands in one */
    assert_int_equal(rls_haproxy_api_call(path, "show info\nshutdown frontend x", 200, &reply, &err),
                     RLS_ERR_INVALID);
    close(f.fd);
    unlink(path);
    /* nobody there */
    assert_int_equal(rls_haproxy_api_call(path, "show info", 200, &reply, &err), RLS_ERR_IO);
    assert_non_null(strstr(err.msg, path));
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_checked),
        cmocka_unit_test(test_commands_formatted),
        cmocka_unit_test(test_replies_told_apart),
        cmocka_unit_test(test_show_stat_parsed),
        cmocka_unit_test(test_log_line_parsed),
        cmocka_unit_test(test_adaptive_weights),
        cmocka_unit_test(test_api_call_over_a_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
