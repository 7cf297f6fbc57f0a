/* bundle/writer.c — placeholder until the writer lands. */
typedef int afb_writer_placeholder;
