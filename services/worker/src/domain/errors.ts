import { DomainError } from '@cupo/errors';

export class QueryNotFoundError extends DomainError {
  constructor(id: string) {
    super('not_found', 'QUERY_NOT_FOUND', `Query ${id} does not exist`);
  }
}

export class NotYourQueryError extends DomainError {
  constructor() {
    super('forbidden', 'FORBIDDEN', 'You may only read your own queries');
  }
}
