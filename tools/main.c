#include <stdio.h>
int main(void) { puts("aneforge: under construction"); return 0; }
