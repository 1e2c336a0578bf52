"""Motion representation, DSFT tokenizer and the MotionVLA vision-language model."""
