#include <avr/io.h>
int main(void) { for (;;) {} }
