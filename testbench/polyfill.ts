/**
 * tsyringe throws at import time unless the Reflect metadata API exists. ES modules evaluate
 * in import order, so every entry that can reach tsyringe imports this file first.
 */
import "reflect-metadata";
