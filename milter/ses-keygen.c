/*
 * ses-keygen - placeholder entry point (options, configuration, version)
 *
 * The program's function is built by its own issue; until then it checks
 * its options and configuration like every program of the package and
 * says plainly that the function is missing.
 */
#include "config.h"

#include "ses_cli.h"
#include "ses_conf.h"

#include <getopt.h>
#include <stdio.h>
#include <sysexits.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-keygen [-c FILE] [-V] [-h]\n"
            "  -c FILE  configuration file (default %s)\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n",
            CLI_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
    const char *conffile = NULL;
    conf_t *conf = NULL;
    char err[1024];
    int ch;

    while ((ch = getopt(argc, argv, "c:Vh")) != -1) {
        switch (ch) {
        case 'c':
            conffile = optarg;
            break;
        case 'V':
            cli_version("ses-keygen");
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (cli_load_conf(conffile, &conf, err, sizeof(err)) != CONF_OK) {
        fprintf(stderr, "ses-keygen: %s\n", err);
        return EX_CONFIG;
    }
    conf_unref(conf);
    fprintf(stderr, "ses-keygen: not implemented in this build\n");
    return EX_UNAVAILABLE;
}
