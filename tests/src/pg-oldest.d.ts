// The oldest pg of the peer range, installed under an alias: the same API as pg, as far as the tests use it.
declare module 'pg-oldest' {
  import pg from 'pg'
  export default pg
}
