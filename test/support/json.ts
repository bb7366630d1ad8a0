/**
 * A GraphQL response value as tests read it. `any` on purpose: assertions walk arbitrary response
 * shapes, and a wrong path fails the assertion at run time anyway.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;
