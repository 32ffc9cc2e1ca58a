/*
 * ferry-cni: the CNI plugin the container runtime execs on the host, last in the chain (CNI spec 1.0).
 * No JRE and no shell on the host, and it runs once per pod: so it is a small static C program that
 *   - answers VERSION itself;
 *   - passes prevResult straight through for pods of excluded or unenrolled namespaces (so the node's system
 *     pods start while the agent is down); a call without K8S_POD_NAMESPACE fails unless "unplacedPods" says
 *     "passthrough";
 *   - on ADD, sets net.ipv4.tcp_migrate_req in the pod's namespace (see migrate_requests);
 *   - forwards everything else (env, stdin config, and the pod's netns as an fd via SCM_RIGHTS) to the node
 *     agent's Unix socket and prints the agent's answer.
 * Agent unreachable: ADD and CHECK fail with CNI error code 11 (try again later) so an enrolled pod never starts
 * uncaptured; DEL exits 0 (Ferry runs first on DEL; failing would block IP release; the agent reconciles).
 * All settings come from the network config JSON, because some runtimes call DEL with a stripped environment.
 *
 * Wire format to the agent: one marker byte 'F' carrying an fd by SCM_RIGHTS (the pod's netns; /dev/null when a
 * DEL has none), then u32 big-endian length + JSON object; response = u32 big-endian length + 1 byte exit code +
 * the bytes to print on stdout. The marker travels alone so the agent can read the fd and the bytes separately.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_STDIN (1 << 20)
#define MAX_REPLY (1 << 20)
#define IO_TIMEOUT_S 30
#define CNI_ERR_INCOMPATIBLE 1
#define CNI_ERR_DECODE 6
#define CNI_ERR_INVALID_ENV 4
#define CNI_ERR_TRY_AGAIN 11

static const char *cni_version = "1.0.0";

/* ---------- output ---------- */

static void json_escape(FILE *out, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
}

/* Prints a CNI error result on stdout and exits non-zero. */
static void fail(int code, const char *msg, const char *fmt, ...) {
    char details[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(details, sizeof details, fmt, ap);
    va_end(ap);
    printf("{\"cniVersion\":\"");
    json_escape(stdout, cni_version);
    printf("\",\"code\":%d,\"msg\":\"", code);
    json_escape(stdout, msg);
    printf("\",\"details\":\"");
    json_escape(stdout, details);
    printf("\"}\n");
    fflush(stdout);
    exit(1);
}

/* ---------- a minimal JSON reader: spans of top-level values, no allocation ---------- */

typedef struct { const char *p, *end; } span;

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static const char *skip_string(const char *p, const char *end) { /* p at opening quote */
    for (p++; p < end; p++) {
        if (*p == '\\') { p++; continue; }
        if (*p == '"') return p + 1;
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth) {
    p = skip_ws(p, end);
    if (p >= end || depth > 64) return NULL;
    if (*p == '"') return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = skip_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (object) {
                p = skip_ws(p, end);
                if (p >= end || *p != '"' || !(p = skip_string(p, end))) return NULL;
                p = skip_ws(p, end);
                if (p >= end || *p++ != ':') return NULL;
            }
            if (!(p = skip_value(p, end, depth + 1))) return NULL;
            p = skip_ws(p, end);
            if (p < end && *p == ',') { p++; continue; }
            if (p < end && *p == close) return p + 1;
            return NULL;
        }
    }
    const char *start = p; /* number or literal */
    while (p < end && (strchr("+-.0123456789eE", *p) || (*p >= 'a' && *p <= 'z'))) p++;
    if (p == start) return NULL;
    return p;
}

/* Finds a top-level key of a JSON object; returns 1 and the value's span when present. */
static int json_get(span doc, const char *key, span *value) {
    const char *p = skip_ws(doc.p, doc.end);
    if (p >= doc.end || *p != '{') return 0;
    p = skip_ws(p + 1, doc.end);
    size_t klen = strlen(key);
    while (p < doc.end && *p == '"') {
        const char *kstart = p + 1, *kend = skip_string(p, doc.end);
        if (!kend) return 0;
        int match = (size_t)(kend - 1 - kstart) == klen && memcmp(kstart, key, klen) == 0;
        p = skip_ws(kend, doc.end);
        if (p >= doc.end || *p++ != ':') return 0;
        p = skip_ws(p, doc.end);
        const char *vend = skip_value(p, doc.end, 0);
        if (!vend) return 0;
        if (match) { value->p = p; value->end = vend; return 1; }
        p = skip_ws(vend, doc.end);
        if (p < doc.end && *p == ',') p = skip_ws(p + 1, doc.end);
    }
    return 0;
}

/* Copies a JSON string value (simple escapes only) into out; 0 when it is not such a string. */
static int json_string(span v, char *out, size_t cap) {
    if (v.end - v.p < 2 || *v.p != '"') return 0;
    size_t n = 0;
    for (const char *p = v.p + 1; p < v.end - 1; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            if (p >= v.end - 1) return 0;
            c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            if (*p == 'u') return 0;
        }
        if (n + 1 >= cap) return 0;
        out[n++] = c;
    }
    out[n] = 0;
    return 1;
}

/* ---------- policy: excluded and enrolled namespaces ---------- */

static int in_string_array(span arr, const char *name) {
    const char *p = skip_ws(arr.p, arr.end);
    if (p >= arr.end || *p != '[') return 0;
    p = skip_ws(p + 1, arr.end);
    char item[256];
    while (p < arr.end && *p == '"') {
        const char *e = skip_value(p, arr.end, 0);
        if (!e) return 0;
        span s = {p, e};
        if (json_string(s, item, sizeof item) && strcmp(item, name) == 0) return 1;
        p = skip_ws(e, arr.end);
        if (p < arr.end && *p == ',') p = skip_ws(p + 1, arr.end);
    }
    return 0;
}

static int enrolled(const char *file, const char *ns) {
    FILE *f = fopen(file, "r");
    if (!f) return 0; /* no file yet: nothing is enrolled, nothing is held back */
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        found = strcmp(line, ns) == 0;
    }
    fclose(f);
    return found;
}

static int cni_arg(const char *args, const char *key, char *out, size_t cap) {
    size_t klen = strlen(key);
    for (const char *p = args; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen + 1 > cap) return 0;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = 0;
            return 1;
        }
        p = semi ? semi + 1 : NULL;
    }
    return 0;
}

/* ---------- forwarding ---------- */

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        p += n; len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n == 0) { errno = ECONNRESET; return -1; }
        if (n < 0) { if (errno == EINTR) continue; return -1; }
        p += n; len -= (size_t)n;
    }
    return 0;
}

static void env_field(FILE *out, const char *name, int last) {
    const char *v = getenv(name);
    fprintf(out, "\"%s\":\"", name);
    json_escape(out, v ? v : "");
    fprintf(out, "\"%s", last ? "" : ",");
}

/* Returns 0 and fills reply/exit code on success; -1 with errno when the agent could not be reached. */
static int forward(const char *sock_path, const char *config, size_t config_len, int netns_fd,
                   char **reply, size_t *reply_len, int *exit_code, char *why, size_t why_cap) {
    char *body = NULL;
    size_t body_len = 0;
    FILE *out = open_memstream(&body, &body_len);
    fprintf(out, "{\"env\":{");
    env_field(out, "CNI_COMMAND", 0);
    env_field(out, "CNI_CONTAINERID", 0);
    env_field(out, "CNI_NETNS", 0);
    env_field(out, "CNI_IFNAME", 0);
    env_field(out, "CNI_ARGS", 0);
    env_field(out, "CNI_PATH", 1);
    fprintf(out, "},\"netnsFd\":%s,\"config\":", netns_fd >= 0 ? "true" : "false");
    fwrite(config, 1, config_len, out);
    fprintf(out, "}");
    fclose(out);

    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) { snprintf(why, why_cap, "socket: %s", strerror(errno)); free(body); return -1; }
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock_path) >= sizeof addr.sun_path) {
        snprintf(why, why_cap, "agentSocket path too long: %s", sock_path);
        close(s); free(body); return -1;
    }
    strcpy(addr.sun_path, sock_path);
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        snprintf(why, why_cap, "connect %s: %s", sock_path, strerror(errno));
        close(s); free(body); return -1;
    }

    /* The marker byte carries the fd (SCM_RIGHTS); without a netns (a DEL after the pod is gone) it carries
       /dev/null, which the agent recognises as "no namespace". */
    int pass_fd = netns_fd >= 0 ? netns_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
    char marker = 'F';
    struct iovec iov = {.iov_base = &marker, .iov_len = 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctrl;
    memset(&ctrl, 0, sizeof ctrl);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    uint8_t len_be[4] = {(uint8_t)(body_len >> 24), (uint8_t)(body_len >> 16), (uint8_t)(body_len >> 8), (uint8_t)body_len};
    int sent = pass_fd >= 0 && sendmsg(s, &msg, MSG_NOSIGNAL) == 1 && write_all(s, len_be, 4) == 0
               && write_all(s, body, body_len) == 0;
    free(body);
    if (!sent) {
        /* The agent may have refused us before reading the request (e.g. not root) and closed: its answer is still
           readable on a Unix socket, so try to read it before reporting the send error. */
        snprintf(why, why_cap, "send to %s: %s", sock_path, strerror(errno));
    }

    uint8_t hdr[4];
    if (read_all(s, hdr, 4) < 0) {
        if (sent) snprintf(why, why_cap, "read from %s: %s", sock_path, strerror(errno));
        close(s); return -1;
    }
    size_t n = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
    if (n < 1 || n > MAX_REPLY) {
        snprintf(why, why_cap, "bad reply length %zu from %s", n, sock_path);
        close(s); errno = EPROTO; return -1;
    }
    char *r = malloc(n);
    if (!r || read_all(s, r, n) < 0) {
        snprintf(why, why_cap, "read from %s: %s", sock_path, strerror(errno));
        free(r); close(s); return -1;
    }
    close(s);
    *exit_code = (uint8_t)r[0];
    *reply = r;
    *reply_len = n;
    return 0;
}

/* net.ipv4.tcp_migrate_req in the pod's namespace: connections queued on a closing SO_REUSEPORT listener (the old
   agent's, in a rolling replacement) move to the new agent's instead of being reset. The plugin sets it because it
   runs on the host as root, where /proc/sys is writable; in the agent's container it is mounted read-only. A sysctl
   file belongs to the namespace of the process that opens it, hence the setns. Best effort: a kernel without it
   (before 5.14) still captures; the agent warns. Nothing after this depends on the network namespace (the agent's
   socket is a path). */
static void migrate_requests(int netns_fd) {
    struct stat pod, own;
    if (fstat(netns_fd, &pod) != 0 || stat("/proc/self/ns/net", &own) != 0) return;
    if (pod.st_dev == own.st_dev && pod.st_ino == own.st_ino) return; /* the node's own: the agent refuses it */
    if (setns(netns_fd, CLONE_NEWNET) != 0) return;
    int fd = open("/proc/sys/net/ipv4/tcp_migrate_req", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (write(fd, "1", 1) != 1) { /* the agent reads it back and warns */ }
    close(fd);
}

int main(void) {
    const char *cmd = getenv("CNI_COMMAND");
    if (!cmd) fail(CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set", "this program is a CNI plugin");
    if (strcmp(cmd, "VERSION") == 0) {
        printf("{\"cniVersion\":\"1.0.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\"]}\n");
        return 0;
    }
    int is_add = strcmp(cmd, "ADD") == 0, is_del = strcmp(cmd, "DEL") == 0, is_check = strcmp(cmd, "CHECK") == 0;
    if (!is_add && !is_del && !is_check) fail(CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND", "%s", cmd);

    static char config[MAX_STDIN + 1];
    size_t len = 0;
    ssize_t n;
    while ((n = read(0, config + len, MAX_STDIN + 1 - len)) > 0) {
        len += (size_t)n;
        if (len > MAX_STDIN) fail(CNI_ERR_DECODE, "network config too large", "over %d bytes", MAX_STDIN);
    }
    span doc = {config, config + len};
    span v;
    const char *doc_end = skip_value(config, config + len, 0);
    if (!doc_end || skip_ws(doc_end, config + len) != config + len || *skip_ws(config, config + len) != '{')
        fail(CNI_ERR_DECODE, "network config is not a JSON object", "%zu bytes on stdin", len);
    static char version[32];
    if (json_get(doc, "cniVersion", &v) && json_string(v, version, sizeof version)) cni_version = version;

    char sock_path[512] = "/var/run/ferry/cni.sock";
    char enrolled_file[512] = "/var/lib/ferry/enrolled-namespaces";
    if (json_get(doc, "agentSocket", &v) && !json_string(v, sock_path, sizeof sock_path))
        fail(CNI_ERR_DECODE, "bad agentSocket", "must be a string");
    if (json_get(doc, "enrolledNamespacesFile", &v) && !json_string(v, enrolled_file, sizeof enrolled_file))
        fail(CNI_ERR_DECODE, "bad enrolledNamespacesFile", "must be a string");

    char ns[256] = "";
    const char *args = getenv("CNI_ARGS");
    int is_pod = args && cni_arg(args, "K8S_POD_NAMESPACE", ns, sizeof ns);
    if (!is_pod) {
        /* A call that names no namespace cannot be placed: enrolled or not is unknown. Kubernetes always passes it,
           so by default this fails (an enrolled pod never starts uncaptured); "passthrough" is for nodes whose
           runtime also starts plain containers. DEL always succeeds (never block IP release). */
        char mode[32] = "fail";
        if (json_get(doc, "unplacedPods", &v) && !json_string(v, mode, sizeof mode))
            fail(CNI_ERR_DECODE, "bad unplacedPods", "must be a string");
        if (strcmp(mode, "fail") != 0 && strcmp(mode, "passthrough") != 0)
            fail(CNI_ERR_DECODE, "bad unplacedPods", "'%s': must be fail or passthrough", mode);
        if (!is_del && strcmp(mode, "fail") == 0)
            fail(CNI_ERR_INVALID_ENV, "CNI_ARGS has no K8S_POD_NAMESPACE",
                 "ferry-cni cannot tell whether the pod's namespace is enrolled, so it does not start it uncaptured; "
                 "for a runtime that is not Kubernetes set cniUnplacedPods: passthrough in Ferry's node config");
    }
    int excluded;
    if (json_get(doc, "excludedNamespaces", &v)) excluded = in_string_array(v, ns);
    else excluded = strcmp(ns, "kube-system") == 0 || strcmp(ns, "ferry-system") == 0;

    if (!is_pod || excluded || !enrolled(enrolled_file, ns)) {
        if (is_add) { /* pass the chain's result through unchanged */
            if (json_get(doc, "prevResult", &v)) {
                fwrite(v.p, 1, (size_t)(v.end - v.p), stdout);
                putchar('\n');
            } else {
                printf("{\"cniVersion\":\"");
                json_escape(stdout, cni_version);
                printf("\"}\n");
            }
        }
        return 0;
    }

    const char *netns = getenv("CNI_NETNS");
    int netns_fd = netns && *netns ? open(netns, O_RDONLY | O_CLOEXEC) : -1;
    if (netns_fd < 0 && !is_del) fail(CNI_ERR_INVALID_ENV, "cannot open the pod's netns", "%s: %s", netns ? netns : "(unset)", strerror(errno));
    if (is_add) migrate_requests(netns_fd);

    char *reply = NULL, why[768];
    size_t reply_len = 0;
    int code = 0;
    if (forward(sock_path, config, len, netns_fd, &reply, &reply_len, &code, why, sizeof why) < 0) {
        if (is_del) return 0; /* never block IP release; the agent reconciles when it is back */
        fail(CNI_ERR_TRY_AGAIN, "ferry agent unreachable; the pod must not start uncaptured", "%s", why);
    }
    fwrite(reply + 1, 1, reply_len - 1, stdout);
    fflush(stdout);
    free(reply);
    return is_del ? 0 : code;
}
