/*
 * avro_format.h -- the fixed bytes of an Avro object container file, for
 * the writer (profile_file.c) and the reader (avro_container.c) alike.
 *
 * A container is the magic, a metadata map (avro.schema, avro.codec,
 * ...), a sync marker of AVRO_SYNC_SIZE random bytes, then blocks of
 * (record count, byte size, data, the same sync marker).
 */
#ifndef DAGLIB_AVRO_FORMAT_H
#define DAGLIB_AVRO_FORMAT_H

#define AVRO_MAGIC "Obj\x01"
#define AVRO_MAGIC_SIZE 4
#define AVRO_SYNC_SIZE 16

#endif
