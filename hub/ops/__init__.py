"""Operations: the views operators and leads read, composed from what each stage exports."""
