/* smtpd: the SMTP server. Run by master with a listening socket, or by
 * hand as "smtpd -S [-a client-address]" to talk SMTP on stdin/stdout for
 * one session (like "sendmail -bs"; -a pretends the client has that address,
 * for tests). */
#include <string.h>

#include "log.h"
#include "service.h"
#include "smtpd.h"

static void serve(service_t *svc, stream_t *client)
{
    smtpd_session(svc, client, client, 0, NULL);
}

static int standalone;      /* -S: stdin/stdout, where TLS has no place */

/* As root, before the privilege drop: the TLS keys are often root's only. */
static void pre_jail(service_t *svc)
{
    (void) svc;
    if (!standalone)
        smtpd_tls_init();
}

static void post_init(service_t *svc)
{
    (void) svc;
    smtpd_settings_load();
    smtpd_check_config();
}

/* Takes -S and -a ADDR out of argv before the common option parser. */
static int strip_standalone_options(int *argc, char **argv, const char **fake_addr)
{
    int standalone = 0, out = 1;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "-S") == 0) {
            standalone = 1;
        } else if (strcmp(argv[i], "-a") == 0 && i + 1 < *argc) {
            *fake_addr = argv[++i];
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    return standalone;
}

int main(int argc, char **argv)
{
    static const service_opts_t opts = { pre_jail, post_init, 0 };
    service_t svc;
    const char *fake_addr = NULL;

    standalone = strip_standalone_options(&argc, argv, &fake_addr);

    memset(&svc, 0, sizeof(svc));
    service_init(&svc, argc, argv, "smtpd", &opts);
    if (standalone) {
        stream_t *in = stream_fdopen(0);
        stream_t *out = stream_fdopen(1);

        smtpd_session(&svc, in, out, 1, fake_addr);
        stream_free(in);
        stream_free(out);
        return 0;
    }
    if (fake_addr != NULL)
        msg_fatal("-a is only for -S mode");
    single_server_run(&svc, serve);
}
