/* bundle/reader.c — placeholder until the reader lands. */
typedef int afb_reader_placeholder;
