import { graphql } from "./gql";

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      roles
      user {
        id
        name
      }
      organisation {
        id
        name
        cvr
      }
    }
  }
`);
