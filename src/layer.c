/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * layer.c - the main() of the layer checks (Makefile.am, src/layer-*)
 *
 * Each src/layer-LAYER program links one convenience library whole
 * (--whole-archive) with only the libraries of the layers below it: the
 * link fails when an object uses a layer above its own. The program does
 * nothing; it is never run.
 *
 * DIAGNOSTICS
 *   None.
 */

int main(void)
{
    return 0;
}
