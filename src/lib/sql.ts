/** A list of the contract's constants as a SQL `IN (...)` body, for statements written as text. Never for user input. */
export const sqlList = (values: readonly string[]) => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(", ");
