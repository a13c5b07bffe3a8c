/** Run a script's main and exit with its code (1 and the error on a throw). */
export function runMain(main: () => Promise<number>, report: (err: unknown) => void = (err) => console.error(err)): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      report(err);
      process.exit(1);
    },
  );
}
