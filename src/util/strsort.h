/*
 * strsort.h - sorting an array of NUL-terminated strings in strcmp()
 * order (bytes compared as unsigned char, a prefix first).
 *
 * Multikey quicksort (Bentley and Sedgewick, "Fast Algorithms for Sorting
 * and Searching Strings", SODA 1997): a three-way partition on one byte at
 * a time, so that a byte is looked at once per level instead of a whole
 * common prefix per comparison.  qsort(3) with strcmp took 40M
 * instructions for the 50,000 member DNs of a list ("cn=..." all alike for
 * three bytes, ",ou=...,dc=example,dc=com" alike at the end).  Not
 * stable: equal strings come out in no set order (they are the same
 * bytes, so only their pointers tell them apart).
 */
#ifndef DS_STRSORT_H
#define DS_STRSORT_H

#include <stddef.h>

/* Sorts v[0 .. n); the strings are not touched, only the pointers. */
void strsort(const char **v, size_t n);

#endif
