// Nothing: the node process itself, the floor every other part is compared with.
export {};
