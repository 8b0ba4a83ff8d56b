/*
 * Test firmware for the virtual board's ADC (tests/test_stream_vboard.py).
 * Every 1 ms (Timer1 CTC, exactly 16,000 cycles at 16 MHz) it converts ADC0
 * against AVcc and writes the code (2 bytes, little-endian) and PINB to UART0.
 */
#include <avr/io.h>
#include <stdint.h>

static void put(uint8_t b)
{
	while (!(UCSR0A & _BV(UDRE0)))
		;
	UDR0 = b;
}

int main(void)
{
	UBRR0 = 16; /* 115200 baud at 16 MHz, U2X */
	UCSR0A = _BV(U2X0);
	UCSR0B = _BV(TXEN0);
	UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
	ADMUX = _BV(REFS0);
	ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1) | _BV(ADPS0);
	TCCR1A = 0;
	OCR1A = (uint16_t)(F_CPU / 1000u - 1u);
	TCCR1B = _BV(WGM12) | _BV(CS10);
	for (;;) {
		while (!(TIFR1 & _BV(OCF1A)))
			;
		TIFR1 = _BV(OCF1A);
		ADCSRA |= _BV(ADSC);
		while (ADCSRA & _BV(ADSC))
			;
		const uint16_t code = ADC;
		put((uint8_t)code);
		put((uint8_t)(code >> 8));
		put(PINB);
	}
}
