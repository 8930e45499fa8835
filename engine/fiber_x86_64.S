/*
 * fiber_x86_64.S - the stack switch under engine/fiber.c, for x86-64
 * System V on ELF targets. On any other target this file assembles to
 * nothing and fiber.c uses ucontext instead.
 *
 * wh__fiber_switch(void **save_sp, void *load_sp)
 *   Pushes the callee-saved state of the caller (rbp rbx r12-r15, then the
 *   MXCSR and the x87 control word in one 8-byte slot) on the current stack,
 *   stores the stack pointer in *save_sp, loads load_sp and pops the same
 *   frame from there, then returns into whoever saved that frame. Only the
 *   callee-saved state needs saving: the switch is an ordinary call for the
 *   compiler, which already assumes every caller-saved register clobbered.
 *   The MXCSR control bits and the x87 control word are callee-saved too in
 *   the psABI, so a fiber that changes its rounding mode does not leak it to
 *   the scheduler.
 *
 *   Frame at a saved stack pointer, low to high address:
 *     +0  MXCSR (4 bytes), x87 control word (2 bytes), 2 unused
 *     +8  r15   +16 r14   +24 r13   +32 r12   +40 rbx   +48 rbp
 *     +56 return address
 *   Entering the switch, rsp is 8 mod 16 (a return address was pushed); six
 *   pushes and the 8-byte slot make it 0 mod 16 at the saved point.
 *
 * wh__fiber_trampoline
 *   The "return address" of a fresh fiber's first frame (built by fiber.c):
 *   it calls r13(r12), i.e. the fiber's entry function with the fiber as its
 *   argument. fiber.c places the frame so that rsp is 0 mod 16 here, as the
 *   ABI requires before a call. The entry function never returns; ud2 traps
 *   if it ever does. rbp is 0 in the first frame and the return address
 *   column is marked undefined so that debuggers and unwinders stop here.
 *
 * No .note.gnu.property is emitted on purpose: returning into another stack
 * is not shadow-stack compatible, and without the note the linker does not
 * mark the program as CET compatible.
 */
#if defined(__x86_64__) && defined(__ELF__)

	.text

	.globl	wh__fiber_switch
	.hidden	wh__fiber_switch
	.type	wh__fiber_switch, @function
	.p2align 4
wh__fiber_switch:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbx, 0
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r12, 0
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r13, 0
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r14, 0
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset r15, 0
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)

	/* Both stacks hold the same frame shape, so the CFI above stays
	 * valid after the stack pointer changes. */
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp

	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15
	.cfi_adjust_cfa_offset -8
	.cfi_restore r15
	popq	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore r14
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore r12
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbx
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore rbp
	ret
	.cfi_endproc
	.size	wh__fiber_switch, .-wh__fiber_switch

	.globl	wh__fiber_trampoline
	.hidden	wh__fiber_trampoline
	.type	wh__fiber_trampoline, @function
	.p2align 4
wh__fiber_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	callq	*%r13
	ud2
	.cfi_endproc
	.size	wh__fiber_trampoline, .-wh__fiber_trampoline

#endif /* __x86_64__ && __ELF__ */

#if defined(__ELF__)
	/* The stack is not executable, even when this file is empty. */
	.section .note.GNU-stack,"",%progbits
#endif
