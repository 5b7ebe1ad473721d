// `express4` is an npm alias of express@4 (tests run the adapter against Express 4 and 5). Express 4
// ships no types; the API the tests use is the same as Express 5's, so it borrows @types/express.
declare module 'express4' {
  import express from 'express';
  export = express;
}
