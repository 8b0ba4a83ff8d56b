#include "microtest.h"

static void test_int_equal(void) { MT_ASSERT_EQ_INT(-5, -2 - 3); }
static void test_range(void) { MT_ASSERT_IN_RANGE(0, 255, 200); }

int main(void)
{
	mt_begin();
	MT_RUN(test_int_equal);
	MT_RUN(test_range);
	return mt_end();
}
