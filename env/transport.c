/* transport.c - ZeroMQ server (ROUTER) and client (DEALER) for protocol
 * messages, with timeouts by zmq_poll, ZMQ_MAXMSGSIZE, optional CURVE and a
 * ZAP handler thread that admits only listed client keys.
 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_MAX_ALLOWED 65536     /* most keys in an allow file */

struct rls_transport {
    void *ctx;
    int own_ctx;                /* 1: ctx is ours to terminate */
    void *sock;
    int is_server;
    char endpoint[256];
    char errmsg[RLS_ERRMSG_MAX];
    struct rls_transport_params params;
    struct rls_proto_buf rx;    /* recv_msg's receive buffer */
    struct rls_proto_buf tx;    /* send_msg's and error replies' buffer */
    int64_t seq;                /* sequence numbers of error replies */
    atomic_llong refused;
    /* ZAP */
    void *zap;                  /* REP socket, owned by the thread once started */
    pthread_t zap_thread;
    int zap_running;
    atomic_int zap_stop;
    atomic_llong denied;
    uint8_t (*allowed)[32];     /* [n_allowed] client public keys */
    uint8_t *takeover;          /* [n_allowed] 1: the key may take a live lease */
    int n_allowed;
    int secure;                 /* CURVE is on */
};

static int s_fail(struct rls_transport *t, struct rls_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the handle's message (t may be NULL) and err (may be NULL). */
static int s_fail(struct rls_transport *t, struct rls_err *err, int status, const char *fmt, ...)
{
    va_list ap;
    char msg[RLS_ERRMSG_MAX];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (t != NULL)
        snprintf(t->errmsg, sizeof t->errmsg, "%s", msg);
    return rls_err_set(err, status, "%s", msg);
}

struct rls_transport_params rls_transport_default_params(void)
{
    struct rls_transport_params p;
    memset(&p, 0, sizeof p);
    p.max_message_bytes = RLS_PROTO_MAX_BYTES;
    p.reconnect_ivl_ms = 100;
    p.reconnect_ivl_max_ms = 5000;
    p.handshake_ms = 5000;
    return p;
}

/* --- keys --------------------------------------------------------------- */

int rls_transport_read_key(const char *path, char z85[RLS_TRANSPORT_KEY_Z85 + 1], struct rls_err *err)
{
    FILE *f = NULL;
    char line[256];
    int rc = RLS_ERR_PARSE;
    uint8_t bin[32];

    if (path == NULL || z85 == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_transport_read_key: NULL argument");
    f = fopen(path, "r");
    if (f == NULL)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot open key file: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strcspn(line, "\r\n");
        char *s = line;
        line[n] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (n == 0 || s[0] == '#')
            continue;
        if (n == RLS_TRANSPORT_KEY_Z85 && zmq_z85_decode(bin, s) != NULL) {
            memcpy(z85, s, RLS_TRANSPORT_KEY_Z85 + 1);
            rc = RLS_OK;
        }
        break;
    }
    fclose(f);
    if (rc != RLS_OK)
        return rls_err_set(err, RLS_ERR_PARSE, "%s: no Z85 key (a line of %d characters) in the file",
                           path, RLS_TRANSPORT_KEY_Z85);
    return RLS_OK;
}

static int s_write_key(const char *path, const char *what, const char *z85, mode_t mode, int overwrite,
                       struct rls_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | (overwrite ? O_TRUNC : O_EXCL), mode);
    FILE *f = NULL;
    int bad;

    if (fd < 0 && errno == EEXIST)
        return rls_err_set(err, RLS_ERR_STATE, "%s: exists, not overwritten", path);
    if (fd < 0)
        return rls_err_set(err, RLS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fchmod(fd, mode);       /* an existing file keeps its mode otherwise */
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return rls_err_set(err, RLS_ERR_IO, "%s: %s", path, strerror(errno));
    }
    bad = fprintf(f, "# rlsched CURVE %s key (Z85)\n%s\n", what, z85) < 0;
    bad |= fclose(f) != 0;
    if (bad)
        return rls_err_set(err, RLS_ERR_IO, "%s: write failed", path);
    return RLS_OK;
}

int rls_transport_keygen(const char *public_path, const char *secret_path, int overwrite, struct rls_err *err)
{
    char pub[RLS_TRANSPORT_KEY_Z85 + 1], sec[RLS_TRANSPORT_KEY_Z85 + 1];
    struct stat st;
    int rc;

    if (public_path == NULL || secret_path == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_transport_keygen: NULL path");
    if (!overwrite && (stat(secret_path, &st) == 0 || stat(public_path, &st) == 0))
        return rls_err_set(err, RLS_ERR_STATE, "%s: exists, not overwritten",
                           stat(secret_path, &st) == 0 ? secret_path : public_path);
    if (zmq_curve_keypair(pub, sec) != 0)
        return rls_err_set(err, RLS_ERR_EXTERNAL, "zmq_curve_keypair: %s (libzmq without CURVE?)",
                           zmq_strerror(zmq_errno()));
    rc = s_write_key(secret_path, "secret", sec, 0600, overwrite, err);
    if (rc == RLS_OK)
        rc = s_write_key(public_path, "public", pub, 0644, overwrite, err);
    memset(sec, 0, sizeof sec);
    return rc;
}

/* Reads a secret key file and derives its public key; both binary. */
static int s_load_secret(struct rls_transport *t, const char *path, uint8_t sec[32], uint8_t pub[32],
                         struct rls_err *err)
{
    char z[RLS_TRANSPORT_KEY_Z85 + 1], zp[RLS_TRANSPORT_KEY_Z85 + 1];
    struct rls_err e = { 0 };
    int rc = rls_transport_read_key(path, z, &e);
    if (rc != RLS_OK)
        return s_fail(t, err, rc, "%s", e.msg);
    if (zmq_curve_public(zp, z) != 0)
        return s_fail(t, err, RLS_ERR_EXTERNAL, "%s: zmq_curve_public: %s", path, zmq_strerror(zmq_errno()));
    zmq_z85_decode(sec, z);
    zmq_z85_decode(pub, zp);
    memset(z, 0, sizeof z);
    return RLS_OK;
}

/* Reads the allowed client keys, one Z85 line each. */
static int s_load_allowed(struct rls_transport *t, const char *path, struct rls_err *err)
{
    FILE *f = fopen(path, "r");
    char line[256];
    int lineno = 0, rc = RLS_OK;

    if (f == NULL)
        return s_fail(t, err, RLS_ERR_IO, "%s: cannot open allowed keys: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f) != NULL) {
        char *s = line;
        size_t n = strcspn(line, "\r\n");
        uint8_t (*grown)[32] = NULL;
        lineno++;
        line[n] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (n == 0 || s[0] == '#')
            continue;
        {
            /* "KEY" or "KEY takeover" */
            char *word = s + strcspn(s, " \t");
            int take = 0;
            if (*word != '\0') {
                uint8_t probe[32];
                *word++ = '\0';
                word += strspn(word, " \t");
                if (strlen(s) == RLS_TRANSPORT_KEY_Z85 && zmq_z85_decode(probe, s) != NULL &&
                    strcmp(word, "takeover") != 0) {
                    rc = s_fail(t, err, RLS_ERR_PARSE, "%s:%d: '%s' after the key: only the word 'takeover' may follow it",
                                path, lineno, word);
                    break;
                }
                take = strcmp(word, "takeover") == 0;
                n = take ? strlen(s) : n;   /* not a key: reported below */
            }
            uint8_t *tk = realloc(t->takeover, (size_t)(t->n_allowed + 1));
            if (tk == NULL) {
                rc = s_fail(t, err, RLS_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            t->takeover = tk;
            t->takeover[t->n_allowed] = (uint8_t)take;
        }
        if (t->n_allowed >= S_MAX_ALLOWED) {
            rc = s_fail(t, err, RLS_ERR_RANGE, "%s:%d: more than %d keys", path, lineno, S_MAX_ALLOWED);
            break;
        }
        grown = realloc(t->allowed, (size_t)(t->n_allowed + 1) * sizeof *t->allowed);
        if (grown == NULL) {
            rc = s_fail(t, err, RLS_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        t->allowed = grown;
        if (n != RLS_TRANSPORT_KEY_Z85 || zmq_z85_decode(t->allowed[t->n_allowed], s) == NULL) {
            rc = s_fail(t, err, RLS_ERR_PARSE, "%s:%d: not a Z85 public key (%d characters)", path,
                        lineno, RLS_TRANSPORT_KEY_Z85);
            break;
        }
        t->n_allowed++;
    }
    fclose(f);
    return rc;
}

/* --- the ZAP handler (RFC 27) --------------------------------------------- */

static int s_zap_allowed(const struct rls_transport *t, const zmq_msg_t *mech, const zmq_msg_t *cred)
{
    if (zmq_msg_size((zmq_msg_t *)mech) != 5 || memcmp(zmq_msg_data((zmq_msg_t *)mech), "CURVE", 5) != 0)
        return 0;
    if (zmq_msg_size((zmq_msg_t *)cred) != 32)
        return 0;
    for (int i = 0; i < t->n_allowed; i++)
        if (memcmp(t->allowed[i], zmq_msg_data((zmq_msg_t *)cred), 32) == 0)
            return 1;
    return 0;
}

/* Answers ZAP requests until zap_stop is set: frames version, request id,
 * domain, address, routing id, mechanism, credentials...; reply version,
 * request id, status code, status text, user id, metadata. */
static void *s_zap_main(void *arg)
{
    struct rls_transport *t = arg;
    zmq_msg_t fr[8];
    int nfr = 0;

    while (!atomic_load(&t->zap_stop)) {
        zmq_pollitem_t item = { t->zap, 0, ZMQ_POLLIN, 0 };
        int more = 1, ok;
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;
        nfr = 0;
        while (more) {
            zmq_msg_t scratch;
            zmq_msg_t *m = nfr < 8 ? &fr[nfr] : &scratch;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, t->zap, 0) < 0) {
                zmq_msg_close(m);
                more = 0;
                break;
            }
            more = zmq_msg_more(m);
            if (nfr < 8)
                nfr++;
            else
                zmq_msg_close(m);
        }
        ok = nfr >= 7 && zmq_msg_size(&fr[0]) == 3 && memcmp(zmq_msg_data(&fr[0]), "1.0", 3) == 0 &&
             s_zap_allowed(t, &fr[5], &fr[6]);
        if (!ok)
            atomic_fetch_add(&t->denied, 1);
        if (nfr >= 2) {
            /* the user id is the client's Z85 public key: messages carry it
             * as their "User-Id" property (rls_transport_peer.key) */
            char uid[RLS_TRANSPORT_KEY_Z85 + 1] = "";
            if (ok)
                zmq_z85_encode(uid, zmq_msg_data(&fr[6]), 32);
            zmq_send(t->zap, "1.0", 3, ZMQ_SNDMORE);
            zmq_send(t->zap, zmq_msg_data(&fr[1]), zmq_msg_size(&fr[1]), ZMQ_SNDMORE);
            zmq_send(t->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
            zmq_send(t->zap, ok ? "OK" : "client key not allowed", ok ? 2 : 22, ZMQ_SNDMORE);
            zmq_send(t->zap, uid, strlen(uid), ZMQ_SNDMORE);
            zmq_send(t->zap, "", 0, 0);
        }
        for (int i = 0; i < nfr; i++)
            zmq_msg_close(&fr[i]);
    }
    zmq_close(t->zap);
    t->zap = NULL;
    return NULL;
}

/* --- handles -------------------------------------------------------------- */

static int s_setopt(struct rls_transport *t, struct rls_err *err, int opt, const void *v, size_t n,
                    const char *name)
{
    if (zmq_setsockopt(t->sock, opt, v, n) != 0)
        return s_fail(t, err, RLS_ERR_EXTERNAL, "%s: zmq_setsockopt(%s): %s", t->endpoint, name,
                      zmq_strerror(zmq_errno()));
    return RLS_OK;
}

static struct rls_transport *s_new(const char *endpoint, const struct rls_transport_params *p,
                                   int is_server, struct rls_err *err)
{
    struct rls_transport *t = NULL;
    int rc = RLS_OK, zero = 0, one = 1;
    uint8_t sec[32], pub[32], srv[32];

    if (endpoint == NULL) {
        rls_err_set(err, RLS_ERR_INVALID, "transport: NULL endpoint");
        return NULL;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        rls_err_set(err, RLS_ERR_NOMEM, "%s: out of memory", endpoint);
        return NULL;
    }
    t->params = p != NULL ? *p : rls_transport_default_params();
    t->is_server = is_server;
    snprintf(t->endpoint, sizeof t->endpoint, "%s", endpoint);
    if (t->params.max_message_bytes <= 0)
        t->params.max_message_bytes = RLS_PROTO_MAX_BYTES;
    t->ctx = t->params.context;
    if (t->ctx == NULL) {
        t->ctx = zmq_ctx_new();
        t->own_ctx = 1;
        if (t->ctx == NULL) {
            rc = s_fail(t, err, RLS_ERR_EXTERNAL, "%s: zmq_ctx_new: %s", endpoint, zmq_strerror(zmq_errno()));
            goto done;
        }
    }
    t->params.context = NULL;   /* do not keep borrowed pointers */

    /* secure by default: keys, unless the operator said insecure or the
     * endpoint is in-process */
    if (!t->params.insecure && strncmp(endpoint, "inproc://", 9) != 0) {
        if (is_server && (t->params.curve_secret_file == NULL || t->params.curve_allow_file == NULL)) {
            rc = s_fail(t, err, RLS_ERR_INVALID,
                        "%s: refusing to serve without authentication: %s (make keys with `rlsched keygen "
                        "--out NAME`; or say insecure)",
                        endpoint, t->params.curve_secret_file == NULL
                                      ? "no CURVE secret key (curve_secret_file)"
                                      : "no file of allowed agent keys (curve_allow_file)");
            goto done;
        }
        if (!is_server && (t->params.curve_server_file == NULL || t->params.curve_secret_file == NULL)) {
            rc = s_fail(t, err, RLS_ERR_INVALID,
                        "%s: refusing to connect without authentication: %s (make keys with `rlsched keygen "
                        "--out NAME`; or say insecure)",
                        endpoint, t->params.curve_server_file == NULL
                                      ? "no server public key (curve_server_file)"
                                      : "no own secret key (curve_secret_file)");
            goto done;
        }
    }

    /* the ZAP handler must be bound before the server socket accepts anyone */
    if (is_server && t->params.curve_secret_file != NULL && t->params.curve_allow_file != NULL) {
        rc = s_load_allowed(t, t->params.curve_allow_file, err);
        if (rc != RLS_OK)
            goto done;
        t->zap = zmq_socket(t->ctx, ZMQ_REP);
        if (t->zap == NULL || zmq_setsockopt(t->zap, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
            zmq_bind(t->zap, S_ZAP_ENDPOINT) != 0) {
            rc = s_fail(t, err, RLS_ERR_EXTERNAL, "%s: ZAP handler on %s: %s", endpoint, S_ZAP_ENDPOINT,
                        zmq_strerror(zmq_errno()));
            goto done;
        }
        if (pthread_create(&t->zap_thread, NULL, s_zap_main, t) != 0) {
            rc = s_fail(t, err, RLS_ERR_EXTERNAL, "%s: cannot start the ZAP thread", endpoint);
            goto done;
        }
        t->zap_running = 1;
    }

    t->sock = zmq_socket(t->ctx, is_server ? ZMQ_ROUTER : ZMQ_DEALER);
    if (t->sock == NULL) {
        rc = s_fail(t, err, RLS_ERR_EXTERNAL, "%s: zmq_socket: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }
    rc = s_setopt(t, err, ZMQ_LINGER, &zero, sizeof zero, "ZMQ_LINGER");
    if (rc == RLS_OK)
        rc = s_setopt(t, err, ZMQ_MAXMSGSIZE, &t->params.max_message_bytes, sizeof(int64_t), "ZMQ_MAXMSGSIZE");
    if (rc == RLS_OK)
        rc = s_setopt(t, err, ZMQ_HANDSHAKE_IVL, &t->params.handshake_ms, sizeof(int), "ZMQ_HANDSHAKE_IVL");
    if (rc == RLS_OK && is_server)
        rc = s_setopt(t, err, ZMQ_ROUTER_MANDATORY, &one, sizeof one, "ZMQ_ROUTER_MANDATORY");
    if (rc == RLS_OK && !is_server) {
        rc = s_setopt(t, err, ZMQ_IMMEDIATE, &one, sizeof one, "ZMQ_IMMEDIATE");
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_RECONNECT_IVL, &t->params.reconnect_ivl_ms, sizeof(int),
                          "ZMQ_RECONNECT_IVL");
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_RECONNECT_IVL_MAX, &t->params.reconnect_ivl_max_ms, sizeof(int),
                          "ZMQ_RECONNECT_IVL_MAX");
    }
    if (rc != RLS_OK)
        goto done;

    if (is_server && t->params.curve_secret_file != NULL) {
        rc = s_load_secret(t, t->params.curve_secret_file, sec, pub, err);
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER");
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_CURVE_SECRETKEY, sec, 32, "ZMQ_CURVE_SECRETKEY");
        t->secure = 1;
    } else if (!is_server && t->params.curve_server_file != NULL) {
        char z[RLS_TRANSPORT_KEY_Z85 + 1], zs[RLS_TRANSPORT_KEY_Z85 + 1];
        struct rls_err e = { 0 };
        rc = rls_transport_read_key(t->params.curve_server_file, z, &e);
        if (rc != RLS_OK) {
            s_fail(t, err, rc, "%s", e.msg);
            goto done;
        }
        zmq_z85_decode(srv, z);
        if (t->params.curve_secret_file != NULL) {
            rc = s_load_secret(t, t->params.curve_secret_file, sec, pub, err);
        } else if (zmq_curve_keypair(z, zs) != 0) {
            rc = s_fail(t, err, RLS_ERR_EXTERNAL, "%s: zmq_curve_keypair: %s", endpoint,
                        zmq_strerror(zmq_errno()));
        } else {
            zmq_z85_decode(pub, z);
            zmq_z85_decode(sec, zs);
            memset(zs, 0, sizeof zs);
        }
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_CURVE_SERVERKEY, srv, 32, "ZMQ_CURVE_SERVERKEY");
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_CURVE_PUBLICKEY, pub, 32, "ZMQ_CURVE_PUBLICKEY");
        if (rc == RLS_OK)
            rc = s_setopt(t, err, ZMQ_CURVE_SECRETKEY, sec, 32, "ZMQ_CURVE_SECRETKEY");
        t->secure = 1;
    }
    memset(sec, 0, sizeof sec);
    if (rc != RLS_OK)
        goto done;

    if (is_server) {
        size_t n = sizeof t->endpoint;
        if (zmq_bind(t->sock, endpoint) != 0) {
            rc = s_fail(t, err, RLS_ERR_IO, "%s: cannot bind: %s", endpoint, zmq_strerror(zmq_errno()));
            goto done;
        }
        if (zmq_getsockopt(t->sock, ZMQ_LAST_ENDPOINT, t->endpoint, &n) != 0)
            snprintf(t->endpoint, sizeof t->endpoint, "%s", endpoint);
    } else if (zmq_connect(t->sock, endpoint) != 0) {
        rc = s_fail(t, err, RLS_ERR_IO, "%s: cannot connect: %s", endpoint, zmq_strerror(zmq_errno()));
        goto done;
    }

done:
    if (rc != RLS_OK)
        rls_transport_destroy(&t);
    return t;
}

struct rls_transport *rls_transport_server_new(const char *endpoint, const struct rls_transport_params *p,
                                               struct rls_err *err)
{
    return s_new(endpoint, p, 1, err);
}

struct rls_transport *rls_transport_client_new(const char *endpoint, const struct rls_transport_params *p,
                                               struct rls_err *err)
{
    return s_new(endpoint, p, 0, err);
}

void rls_transport_destroy(struct rls_transport **tp)
{
    struct rls_transport *t;

    if (tp == NULL || *tp == NULL)
        return;
    t = *tp;
    if (t->sock != NULL)
        zmq_close(t->sock);
    if (t->zap_running) {
        atomic_store(&t->zap_stop, 1);
        pthread_join(t->zap_thread, NULL);
    } else if (t->zap != NULL) {
        zmq_close(t->zap);
    }
    if (t->own_ctx && t->ctx != NULL)
        zmq_ctx_term(t->ctx);
    free(t->allowed);
    free(t->takeover);
    rls_proto_buf_free(&t->rx);
    rls_proto_buf_free(&t->tx);
    free(t);
    *tp = NULL;
}

const char *rls_transport_errmsg(const struct rls_transport *t)
{
    return t != NULL ? t->errmsg : "no transport";
}

const char *rls_transport_endpoint(const struct rls_transport *t)
{
    return t != NULL ? t->endpoint : "";
}

int64_t rls_transport_refused(const struct rls_transport *t)
{
    return t != NULL ? atomic_load(&((struct rls_transport *)t)->refused) : 0;
}

int rls_transport_is_secure(const struct rls_transport *t)
{
    return t != NULL && t->secure;
}

int rls_transport_key_can_take_over(const struct rls_transport *t, const char *z85)
{
    uint8_t bin[32];

    if (t == NULL || z85 == NULL || strlen(z85) != RLS_TRANSPORT_KEY_Z85 || zmq_z85_decode(bin, z85) == NULL)
        return 0;
    for (int i = 0; i < t->n_allowed; i++)
        if (memcmp(t->allowed[i], bin, 32) == 0)
            return t->takeover != NULL && t->takeover[i];
    return 0;
}

int64_t rls_transport_auth_denied(const struct rls_transport *t)
{
    return t != NULL ? atomic_load(&((struct rls_transport *)t)->denied) : 0;
}

/* --- send and receive ------------------------------------------------------ */

int64_t rls_transport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (deadline < 0: forever, gives -1). */
static long s_left_ms(int64_t deadline)
{
    int64_t left;
    if (deadline < 0)
        return -1;
    left = deadline - rls_transport_now_ms();
    return left > 0 ? (long)left : 0;
}

static const char *s_peer_name(const struct rls_transport_peer *p)
{
    return p != NULL && p->address[0] != '\0' ? p->address : "peer";
}

int rls_transport_send(struct rls_transport *t, const struct rls_transport_peer *to, const void *data,
                       size_t len, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : rls_transport_now_ms() + timeout_ms;

    if (t == NULL || (data == NULL && len > 0))
        return RLS_ERR_INVALID;
    if (t->is_server && (to == NULL || to->len == 0))
        return s_fail(t, NULL, RLS_ERR_INVALID, "send: a server needs the peer to send to");
    if ((int64_t)len > t->params.max_message_bytes)
        return s_fail(t, NULL, RLS_ERR_RANGE, "send: %zu bytes, more than the limit %lld", len,
                      (long long)t->params.max_message_bytes);
    for (;;) {
        int rc;
        if (t->is_server) {
            rc = zmq_send(t->sock, to->id, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            if (rc >= 0) {
                /* the routing frame is accepted: the body goes with it */
                rc = zmq_send(t->sock, data, len, 0);
                if (rc < 0)
                    return s_fail(t, NULL, RLS_ERR_IO, "send to %s: %s", s_peer_name(to),
                                  zmq_strerror(zmq_errno()));
                return RLS_OK;
            }
            if (zmq_errno() == EHOSTUNREACH)
                return s_fail(t, NULL, RLS_ERR_IO, "send to %s: peer gone", s_peer_name(to));
        } else {
            rc = zmq_send(t->sock, data, len, ZMQ_DONTWAIT);
            if (rc >= 0)
                return RLS_OK;
        }
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return s_fail(t, NULL, RLS_ERR_IO, "send to %s: %s", t->is_server ? s_peer_name(to) : t->endpoint,
                          zmq_strerror(zmq_errno()));
        if (deadline >= 0 && s_left_ms(deadline) == 0)
            return s_fail(t, NULL, RLS_ERR_IO, "send to %s: timed out after %d ms%s",
                          t->is_server ? s_peer_name(to) : t->endpoint, timeout_ms,
                          t->is_server ? " (peer not reading)" : " (not connected)");
        if (t->is_server) {
            struct timespec ts = { 0, 1000000 };
            nanosleep(&ts, NULL);
        } else {
            zmq_pollitem_t item = { t->sock, 0, ZMQ_POLLOUT, 0 };
            long wait = s_left_ms(deadline);
            zmq_poll(&item, 1, wait < 0 || wait > 100 ? 100 : wait);
        }
    }
}

/* Drains the remaining frames of a message. */
static void s_drain(void *sock)
{
    int more = 1;
    size_t n = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &n) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        zmq_msg_close(&m);
        n = sizeof more;
    }
}

static int s_copy_into(struct rls_transport *t, struct rls_proto_buf *into, zmq_msg_t *m)
{
    size_t n = zmq_msg_size(m);
    if (n > into->cap) {
        uint8_t *p = realloc(into->data, n > 0 ? n : 1);
        if (p == NULL)
            return s_fail(t, NULL, RLS_ERR_NOMEM, "recv: out of memory for %zu bytes", n);
        into->data = p;
        into->cap = n > 0 ? n : 1;
    }
    if (n > 0)
        memcpy(into->data, zmq_msg_data(m), n);
    into->len = n;
    return RLS_OK;
}

int rls_transport_recv(struct rls_transport *t, struct rls_transport_peer *from, struct rls_proto_buf *into,
                       int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : rls_transport_now_ms() + timeout_ms;
    zmq_msg_t id, body;
    int rc = RLS_OK;

    if (t == NULL || into == NULL)
        return RLS_ERR_INVALID;
    into->len = 0;
    if (from != NULL)
        memset(from, 0, sizeof *from);
    for (;;) {
        zmq_pollitem_t item = { t->sock, 0, ZMQ_POLLIN, 0 };
        int n = zmq_poll(&item, 1, s_left_ms(deadline));
        if (n < 0) {
            if (zmq_errno() == EINTR)
                return 0;
            return s_fail(t, NULL, RLS_ERR_IO, "recv: zmq_poll: %s", zmq_strerror(zmq_errno()));
        }
        if (n == 0)
            return 0;
        if (!t->is_server)
            break;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, t->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            if (zmq_errno() == EAGAIN || zmq_errno() == EINTR) {
                if (s_left_ms(deadline) == 0)
                    return 0;
                continue;
            }
            return s_fail(t, NULL, RLS_ERR_IO, "recv: %s", zmq_strerror(zmq_errno()));
        }
        if (from != NULL && zmq_msg_size(&id) <= sizeof from->id) {
            from->len = (uint8_t)zmq_msg_size(&id);
            memcpy(from->id, zmq_msg_data(&id), from->len);
        }
        zmq_msg_close(&id);
        break;
    }
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, t->sock, t->is_server ? 0 : ZMQ_DONTWAIT) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&body);
        if (!t->is_server && (e == EAGAIN || e == EINTR))
            return 0;
        return s_fail(t, NULL, RLS_ERR_IO, "recv: %s", zmq_strerror(e));
    }
    if (from != NULL) {
        const char *addr = zmq_msg_gets(&body, "Peer-Address");
        const char *uid = t->zap_running ? zmq_msg_gets(&body, "User-Id") : NULL;
        if (addr != NULL)
            snprintf(from->address, sizeof from->address, "%s", addr);
        if (uid != NULL && strlen(uid) == RLS_TRANSPORT_KEY_Z85)
            memcpy(from->key, uid, RLS_TRANSPORT_KEY_Z85 + 1);
    }
    if (zmq_msg_more(&body)) {
        zmq_msg_close(&body);
        s_drain(t->sock);
        return s_fail(t, NULL, RLS_ERR_PARSE, "recv from %s: a message of several frames (dropped)",
                      s_peer_name(from));
    }
    rc = s_copy_into(t, into, &body);
    zmq_msg_close(&body);
    return rc == RLS_OK ? 1 : rc;
}

int rls_transport_send_msg(struct rls_transport *t, const struct rls_transport_peer *to,
                           const struct rls_proto_msg *msg, int timeout_ms)
{
    struct rls_err e = { 0 };
    int rc;

    if (t == NULL)
        return RLS_ERR_INVALID;
    rc = rls_proto_encode(&t->tx, msg, &e);
    if (rc != RLS_OK)
        return s_fail(t, NULL, rc, "%s", e.msg);
    return rls_transport_send(t, to, t->tx.data, t->tx.len, timeout_ms);
}

int rls_transport_recv_msg(struct rls_transport *t, struct rls_transport_peer *from,
                           struct rls_proto_msg *msg, int timeout_ms, struct rls_err *err)
{
    struct rls_transport_peer peer;
    struct rls_err e = { 0 };
    char saved[RLS_ERRMSG_MAX];
    int rc;

    if (t == NULL || msg == NULL)
        return rls_err_set(err, RLS_ERR_INVALID, "rls_transport_recv_msg: NULL argument");
    rls_proto_msg_clear(msg);
    rc = rls_transport_recv(t, &peer, &t->rx, timeout_ms);
    if (from != NULL)
        *from = peer;
    if (rc <= 0) {
        if (rc < 0) {
            atomic_fetch_add(&t->refused, 1);
            rls_err_set(err, rc, "%s", t->errmsg);
        }
        return rc;
    }
    rc = rls_proto_decode(t->rx.data, t->rx.len, msg, &e);
    if (rc == RLS_OK)
        return 1;
    atomic_fetch_add(&t->refused, 1);
    s_fail(t, err, rc, "refused from %s: %s", t->is_server ? s_peer_name(&peer) : t->endpoint, e.msg);
    memcpy(saved, t->errmsg, sizeof saved);
    /* answer with an error message; failing to is not this call's failure */
    if (rls_proto_encode_error(&t->tx, t->seq++, rls_proto_now_ns(), -1, rc, e.msg, NULL) == RLS_OK)
        rls_transport_send(t, &peer, t->tx.data, t->tx.len, 100);
    memcpy(t->errmsg, saved, sizeof saved);
    return rc;
}

const char *rls_transport_peer_name(const struct rls_transport_peer *p)
{
    return p && p->address[0] != '\0' ? p->address : "peer";
}

int rls_transport_peer_equal(const struct rls_transport_peer *a, const struct rls_transport_peer *b)
{
    return a->len == b->len && memcmp(a->id, b->id, a->len) == 0;
}
