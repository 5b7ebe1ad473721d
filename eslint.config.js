// @ts-check
// Flat config: type-aware typescript-eslint (strictTypeChecked) over every TypeScript and JavaScript file
// in the repository. `npm run lint` (part of `npm test`) fails on any finding, warnings included.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build output, generated API docs, installed React 18 for its test project, the demo page's bundle.
    ignores: ['dist/', 'docs/api/', 'coverage/', '**/node_modules/', 'examples/demo/dist/', '.vitest-attachments/'],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // TypeScript files get tsconfig.json's program. The JavaScript files (scripts, bench, examples,
        // this file) are outside it (no allowJs), so they get a default program, type-aware like the rest.
        projectService: {
          allowDefaultProject: ['*.js', 'bench/*.mjs', 'bench/react-renders/*.jsx', 'examples/*.mjs', 'examples/demo/*.mjs', 'scripts/*.mjs'],
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // Template literals print numbers and booleans in messages and ids on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void run()`, `onClick={() => setOpen(false)}`: an arrow's shorthand body returning void is
      // the ordinary way to write a callback, not a confusing use of a void value.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Options, headers and stored entries reach the core from JavaScript callers, JSON and storage:
      // the checks that turn bad input into a clear error look unnecessary to the types by design.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-unnecessary-boolean-literal-compare': 'off',
      // With noUncheckedIndexedAccess, `items[i]!` after a bounds check is the plain way to index; the
      // alternative (a runtime check that cannot fail) would be dead code.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // An `async` method without `await` implements a Promise-returning interface (the memory stores)
      // and turns a synchronous throw into a rejection, which callers rely on.
      '@typescript-eslint/require-await': 'off',
      // Error messages and stored headers describe a value of any run-time type on purpose (`got ${String(x)}`,
      // a header from JavaScript), so stringifying a value the types call a string or an object stays.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // `const { dropped: _dropped, ...rest } = x` is how a property is left out of a copy; `_next` keeps
      // an Express error handler's four parameters (Express tells it apart by its arity).
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_' }],
      // Passing on what was caught (`unknown`) or an AbortSignal's reason (`any` in lib.dom) keeps the
      // caller's own error; only a new non-Error rejection is a finding.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    files: ['adapters/react/**/*.{ts,tsx}', 'examples/**/*.{ts,tsx,jsx}', 'test/react/**/*.tsx', 'bench/react-renders/**/*.jsx'],
    plugins: { 'react-hooks': reactHooks },
    // The rules of hooks and complete effect dependencies. Not the plugin's React Compiler rules (refs
    // read in render, globals): the package is not built with the compiler, and useStructural's
    // render-time ref (an equal inline options object keeps its identity) is deliberate.
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    // Tests and their helpers: relaxed where a rule fights test style. no-floating-promises,
    // no-misused-promises and no-explicit-any stay on.
    files: ['test/**'],
    rules: {
      // Response bodies are parsed JSON (`any`) that the next line asserts on with expect(); typing
      // every fixture body would restate what the assertion already checks.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // expect(res.json).toHaveBeenCalled(), cleanups.push(server.close): methods handed around as
      // values are spies and bound closers in tests.
      '@typescript-eslint/unbound-method': 'off',
      // deferred<void>() is the gate a test opens with resolve().
      '@typescript-eslint/no-invalid-void-type': 'off',
      // Tests throw what user code may throw (strings, response-like objects) to check how it is classified.
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    // JavaScript files have no annotations: parameters, JSON and untyped imports are `any` by nature, so
    // the no-unsafe-* family would flag every use. Promises are still typed and checked.
    files: ['**/*.{js,mjs,jsx}'],
    languageOptions: {
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `a + b` on such values (timings, counts) would be `any + any` everywhere, and a callback's
      // `(error) =>` cannot be annotated `unknown` without TypeScript syntax.
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
    },
  },
  {
    // Browser code, and page.evaluate() callbacks that run in the page.
    files: ['bench/react-renders/**/*.jsx', 'bench/react-renders.mjs', 'examples/demo/page/**'],
    languageOptions: {
      globals: { ...globals.browser },
    },
  },
);
