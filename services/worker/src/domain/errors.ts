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

export class ReportForbiddenError extends DomainError {
  constructor(type: string) {
    super('forbidden', 'FORBIDDEN', `A ${type} report shows students' personal data: it is for admins only`);
  }
}
